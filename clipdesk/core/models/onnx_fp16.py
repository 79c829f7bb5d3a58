"""Store an ONNX text tower's token embedding in fp16: half the file, the same vectors.

A CLIP text tower's file is mostly its token embedding (49,408 rows; 25 MB of tiny-shapes'
26 MB text tower, 76 MB of ViT-B-32's). Quantisation leaves it in fp32 because it is read
by a ``Gather``, not multiplied. Stored in fp16 and cast back to fp32 right after the
lookup, the rows a query touches lose at most fp16's rounding; weights that were saved in
fp16 (tiny-shapes') come back exactly. The pack's check against open_clip decides whether
the result is kept. Needs the ``onnx`` package, not torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MIN_ELEMENTS = 1 << 20  # only tables this large are worth it (about 4 MB in fp32)


def halve_embeddings(path: Path, *, min_elements: int = MIN_ELEMENTS) -> int:
    """Rewrite ``path`` with its large fp32 ``Gather`` tables in fp16; returns how many."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    changed = 0
    for name, init in list(initializers.items()):
        readers = users.get(name, [])
        if (
            init.data_type != TensorProto.FLOAT
            or not readers
            or any(n.op_type != "Gather" or n.input[0] != name for n in readers)
        ):
            continue
        table = numpy_helper.to_array(init)
        if table.size < min_elements:
            continue
        init.CopyFrom(numpy_helper.from_array(table.astype(np.float16), name))
        for gather in readers:
            position = list(graph.node).index(gather)
            out = gather.output[0]
            gather.output[0] = f"{out}__fp16"
            cast = helper.make_node(
                "Cast", [gather.output[0]], [out], to=TensorProto.FLOAT, name=f"{out}__to_fp32"
            )
            graph.node.insert(position + 1, cast)
        changed += 1
    if changed:
        onnx.save(model, str(path))
    return changed
