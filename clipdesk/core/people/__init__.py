"""People of one library: faces grouped into people, named and searched for by the user.

``PeopleService`` (``Library.people``) is the public face; the store holds the tables,
``clustering`` and ``calibration`` are plain functions over face embeddings.
"""
