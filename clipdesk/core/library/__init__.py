"""The Library: the one object the command line and the GUI talk to.

The package splits it along its jobs: :mod:`.library` is the facade callers hold;
:mod:`.model_vectors` pairs the model in use with its vector index; :mod:`.roots` adds
and removes watched folders; :mod:`.jobs` holds the long writing jobs (index,
reconcile, model switch, re-tag) that run on the writer lane; :mod:`.reading` answers
searches and the status on the caller's thread.
"""

from clipdesk.core.library.check_report import CheckReport
from clipdesk.core.library.library import CATALOG_FILE, Library
from clipdesk.core.stores.folder import index_dir_name

__all__ = ["CATALOG_FILE", "CheckReport", "Library", "index_dir_name"]
