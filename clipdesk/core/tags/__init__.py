"""Tags: a vocabulary of concepts, zero-shot scores, per-tag probes, and the tags on photos.

The parts, each in its own module: :mod:`~.vocabulary` (which tags, how to prompt them),
:mod:`~.prompts` and :mod:`~.zeroshot` (label features and scores), :mod:`~.calibration`,
:mod:`~.refine`, :mod:`~.probe` and :mod:`~.learn` (deciding which photos carry a tag),
:mod:`~.job` (the tagging generator), :mod:`~.store` (the tag tables), :mod:`~.search`
(searching within a tag), :mod:`~.xmp` (sidecar files) and :mod:`~.service` (the API the
command line and the window use).

Nothing is imported here: importing one part must not load the others (the decode
workers and ``clipdesk --help`` stay light, and no part can reach another through this
file and form an import cycle).
"""
