"""The Qt-free core of clipdesk: catalog, vectors, encoder, indexing and search.

Nothing under this package may import Qt (checked by tests/test_layering.py).
"""
