"""Bulk indexing on a Ray cluster: workers that read and embed, one writer that stores.

Only :mod:`.ray_pool` imports Ray, and only when ``clipdesk index --ray`` asks for it.
"""
