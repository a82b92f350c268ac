"""A tiny ONNX model with Wav2Lip's signature, built with onnx.helper for the tests.

Inputs (declared faces first, with non-standard names, so the engine must read them):
`face_pair` (B,6,96,96) and `audio_mel` (B,1,80,16); output `generated` (B,3,96,96) =
0.5 * the reference face (channels 3-5) + 0.5 * sigmoid(mean of the mel window). The
mouth region of its output therefore brightens with loud audio and darkens in silence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def build_tiny_wav2lip(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    faces = helper.make_tensor_value_info("face_pair", TensorProto.FLOAT, ["batch", 6, 96, 96])
    mel = helper.make_tensor_value_info("audio_mel", TensorProto.FLOAT, ["batch", 1, 80, 16])
    out = helper.make_tensor_value_info("generated", TensorProto.FLOAT, ["batch", 3, 96, 96])
    constants = [
        numpy_helper.from_array(np.array([3], np.int64), "starts"),
        numpy_helper.from_array(np.array([6], np.int64), "ends"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    nodes = [
        helper.make_node("Slice", ["face_pair", "starts", "ends", "axes"], ["reference"]),
        helper.make_node("Mul", ["reference", "half"], ["half_reference"]),
        helper.make_node("ReduceMean", ["audio_mel"], ["loudness"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Sigmoid", ["loudness"], ["level"]),
        helper.make_node("Mul", ["level", "half"], ["half_level"]),
        helper.make_node("Add", ["half_reference", "half_level"], ["generated"]),
    ]
    graph = helper.make_graph(nodes, "tiny_wav2lip", [faces, mel], [out], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def install_tiny_wav2lip(models_dir: Path, name: str = "wav2lip_gan") -> Path:
    """Put the tiny model where the registry expects `name`'s file."""
    from lipforge.weights.registry import file_path, get_model

    entry = get_model(name)
    return build_tiny_wav2lip(file_path(models_dir, entry, entry.files[0]))
