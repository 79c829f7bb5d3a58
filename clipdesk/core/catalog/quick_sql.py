"""The catalog's statements the quick search runs, compiled for SQLite.

Written by ``tools/freeze_quick_sql.py`` from the catalog's own statement builders;
do not edit by hand (a test fails when this file and the builders differ). Each
statement is ``(sql, parameter names in order, constant parameters)``; an expanding
parameter (a list) stands in the SQL as ``__[POSTCOMPILE_name]``.
"""

from __future__ import annotations

ROOTS = (
    "SELECT roots.id, roots.path, roots.added_at, roots.online, roots.last_scan_at \n"
    "FROM roots ORDER BY roots.id",
    (),
    {},
)

FILES_OF_ROOT = (
    "SELECT files.id, files.root_id, files.path, files.size, files.mtime_ns, files.inode, "
    "files.fingerprint, files.status, files.skip_reason, files.width, files.height, "
    "files.taken_at, files.camera, files.taken_offset, files.latitude, files.longitude, "
    "files.place \n"
    "FROM files \n"
    "WHERE files.root_id = ?",
    ("root_id",),
    {},
)

META_VALUE = ('SELECT meta.value \nFROM meta \nWHERE meta."key" = ?', ("key",), {})

EMBEDDING_IDS = ("SELECT id FROM embeddings WHERE model_key = ?", ("model_key",), {})

PENDING_FILE_NO_FACES_NO_TEXT = (
    "SELECT files.id, files.root_id, files.path, files.size, files.mtime_ns, files.inode, "
    "files.fingerprint, files.status, files.skip_reason, files.width, files.height, "
    "files.taken_at, files.camera, files.taken_offset, files.latitude, files.longitude, "
    "files.place \n"
    "FROM files JOIN roots ON roots.id = files.root_id \n"
    "WHERE roots.online IS 1 AND (files.status = ? OR files.status = ? AND NOT ((EXISTS "
    "(SELECT * \n"
    "FROM embeddings \n"
    "WHERE embeddings.fingerprint = files.fingerprint AND embeddings.model_key = ?)) OR "
    "(EXISTS (SELECT * \n"
    "FROM video_scenes, embeddings \n"
    "WHERE video_scenes.fingerprint = files.fingerprint AND embeddings.fingerprint = "
    "video_scenes.scene_fp AND embeddings.model_key = ?)))) ORDER BY files.id",
    ("status_1", "status_2", "model_key", "model_key"),
    {"status_1": "pending", "status_2": "ok"},
)

PENDING_FILE_NO_FACES_TEXT = (
    "SELECT files.id, files.root_id, files.path, files.size, files.mtime_ns, files.inode, "
    "files.fingerprint, files.status, files.skip_reason, files.width, files.height, "
    "files.taken_at, files.camera, files.taken_offset, files.latitude, files.longitude, "
    "files.place \n"
    "FROM files JOIN roots ON roots.id = files.root_id \n"
    "WHERE roots.online IS 1 AND (files.status = ? OR files.status = ? AND (NOT ((EXISTS "
    "(SELECT * \n"
    "FROM embeddings \n"
    "WHERE embeddings.fingerprint = files.fingerprint AND embeddings.model_key = ?)) OR "
    "(EXISTS (SELECT * \n"
    "FROM video_scenes, embeddings \n"
    "WHERE video_scenes.fingerprint = files.fingerprint AND embeddings.fingerprint = "
    "video_scenes.scene_fp AND embeddings.model_key = ?))) OR files.skip_reason IS NULL AND "
    "NOT (EXISTS (SELECT * \n"
    "FROM photo_text \n"
    "WHERE photo_text.fingerprint = files.fingerprint)))) ORDER BY files.id",
    ("status_1", "status_2", "model_key", "model_key"),
    {"status_1": "pending", "status_2": "ok"},
)

PENDING_FILE_FACES_NO_TEXT = (
    "SELECT files.id, files.root_id, files.path, files.size, files.mtime_ns, files.inode, "
    "files.fingerprint, files.status, files.skip_reason, files.width, files.height, "
    "files.taken_at, files.camera, files.taken_offset, files.latitude, files.longitude, "
    "files.place \n"
    "FROM files JOIN roots ON roots.id = files.root_id \n"
    "WHERE roots.online IS 1 AND (files.status = ? OR files.status = ? AND (NOT ((EXISTS "
    "(SELECT * \n"
    "FROM embeddings \n"
    "WHERE embeddings.fingerprint = files.fingerprint AND embeddings.model_key = ?)) OR "
    "(EXISTS (SELECT * \n"
    "FROM video_scenes, embeddings \n"
    "WHERE video_scenes.fingerprint = files.fingerprint AND embeddings.fingerprint = "
    "video_scenes.scene_fp AND embeddings.model_key = ?))) OR files.skip_reason IS NULL AND "
    "NOT (EXISTS (SELECT * \n"
    "FROM face_scans \n"
    "WHERE face_scans.fingerprint = files.fingerprint)))) ORDER BY files.id",
    ("status_1", "status_2", "model_key", "model_key"),
    {"status_1": "pending", "status_2": "ok"},
)

PENDING_FILE_FACES_TEXT = (
    "SELECT files.id, files.root_id, files.path, files.size, files.mtime_ns, files.inode, "
    "files.fingerprint, files.status, files.skip_reason, files.width, files.height, "
    "files.taken_at, files.camera, files.taken_offset, files.latitude, files.longitude, "
    "files.place \n"
    "FROM files JOIN roots ON roots.id = files.root_id \n"
    "WHERE roots.online IS 1 AND (files.status = ? OR files.status = ? AND (NOT ((EXISTS "
    "(SELECT * \n"
    "FROM embeddings \n"
    "WHERE embeddings.fingerprint = files.fingerprint AND embeddings.model_key = ?)) OR "
    "(EXISTS (SELECT * \n"
    "FROM video_scenes, embeddings \n"
    "WHERE video_scenes.fingerprint = files.fingerprint AND embeddings.fingerprint = "
    "video_scenes.scene_fp AND embeddings.model_key = ?))) OR files.skip_reason IS NULL AND "
    "NOT ((EXISTS (SELECT * \n"
    "FROM face_scans \n"
    "WHERE face_scans.fingerprint = files.fingerprint)) AND (EXISTS (SELECT * \n"
    "FROM photo_text \n"
    "WHERE photo_text.fingerprint = files.fingerprint))))) ORDER BY files.id",
    ("status_1", "status_2", "model_key", "model_key"),
    {"status_1": "pending", "status_2": "ok"},
)

PHOTO_SET = (
    "SELECT count(*) AS count_1, coalesce(sum(embeddings.id), ?) AS coalesce_1 \n"
    "FROM embeddings \n"
    "WHERE embeddings.model_key = ? AND ((EXISTS (SELECT * \n"
    "FROM files \n"
    "WHERE files.fingerprint = embeddings.fingerprint AND files.status = ?)) OR (EXISTS "
    "(SELECT * \n"
    "FROM video_scenes, files \n"
    "WHERE video_scenes.scene_fp = embeddings.fingerprint AND files.fingerprint = "
    "video_scenes.fingerprint AND files.status = ?)))",
    ("coalesce_2", "model_key", "status_1", "status_2"),
    {"coalesce_2": 0, "status_1": "ok", "status_2": "ok"},
)

PHOTOS_OF_EMBEDDINGS = (
    "SELECT embeddings.id, files.id AS id_1, files.root_id, files.path, files.size, "
    "files.mtime_ns, files.inode, files.fingerprint, files.status, files.skip_reason, "
    "files.width, files.height, files.taken_at, files.camera, files.taken_offset, "
    "files.latitude, files.longitude, files.place \n"
    "FROM embeddings JOIN files ON files.fingerprint = embeddings.fingerprint \n"
    "WHERE embeddings.id IN (__[POSTCOMPILE_ids]) AND files.status = ? AND files.root_id IN "
    "(SELECT roots.id \n"
    "FROM roots \n"
    "WHERE roots.online IS 1) AND NOT (files.ext IN ('.dng', '.cr2', '.cr3', '.crw', '.nef', "
    "'.nrw', '.arw', '.srf', '.sr2', '.orf', '.rw2', '.raf', '.pef', '.srw', '.x3f', '.3fr', "
    "'.iiq', '.rwl', '.erf', '.kdc', '.mrw', '.mos') AND (EXISTS (SELECT * \n"
    "FROM files AS files_1 \n"
    "WHERE files_1.dir = files.dir AND files_1.ext IN ('.jpg', '.jpeg', '.jpe', '.heic', "
    "'.heif', '.hif') AND substr(files_1.path, ?, length(files_1.path) - length(files_1.ext)) "
    "= substr(files.path, ?, length(files.path) - length(files.ext)) AND files_1.id != "
    "files.id AND files_1.status = ?))) ORDER BY files.path",
    ("ids", "status_1", "substr_1", "substr_2", "status_2"),
    {"status_1": "ok", "status_2": "ok", "substr_1": 1, "substr_2": 1},
)

VIDEOS_OF_EMBEDDINGS = (
    "SELECT embeddings.id, files.id AS id_1, files.root_id, files.path, files.size, "
    "files.mtime_ns, files.inode, files.fingerprint, files.status, files.skip_reason, "
    "files.width, files.height, files.taken_at, files.camera, files.taken_offset, "
    "files.latitude, files.longitude, files.place \n"
    "FROM embeddings JOIN video_scenes ON video_scenes.scene_fp = embeddings.fingerprint JOIN "
    "files ON files.fingerprint = video_scenes.fingerprint \n"
    "WHERE embeddings.id IN (__[POSTCOMPILE_ids]) AND files.status = ? AND files.root_id IN "
    "(SELECT roots.id \n"
    "FROM roots \n"
    "WHERE roots.online IS 1) AND NOT (files.ext IN ('.dng', '.cr2', '.cr3', '.crw', '.nef', "
    "'.nrw', '.arw', '.srf', '.sr2', '.orf', '.rw2', '.raf', '.pef', '.srw', '.x3f', '.3fr', "
    "'.iiq', '.rwl', '.erf', '.kdc', '.mrw', '.mos') AND (EXISTS (SELECT * \n"
    "FROM files AS files_1 \n"
    "WHERE files_1.dir = files.dir AND files_1.ext IN ('.jpg', '.jpeg', '.jpe', '.heic', "
    "'.heif', '.hif') AND substr(files_1.path, ?, length(files_1.path) - length(files_1.ext)) "
    "= substr(files.path, ?, length(files.path) - length(files.ext)) AND files_1.id != "
    "files.id AND files_1.status = ?))) ORDER BY files.path",
    ("ids", "status_1", "substr_1", "substr_2", "status_2"),
    {"status_1": "ok", "status_2": "ok", "substr_1": 1, "substr_2": 1},
)

SCENES_OF_EMBEDDINGS = (
    "SELECT embeddings.id, video_scenes.scene_fp, video_scenes.fingerprint, video_scenes.idx, "
    "video_scenes.start_s, video_scenes.end_s \n"
    "FROM embeddings JOIN video_scenes ON video_scenes.scene_fp = embeddings.fingerprint \n"
    "WHERE embeddings.id IN (__[POSTCOMPILE_ids])",
    ("ids",),
    {},
)
