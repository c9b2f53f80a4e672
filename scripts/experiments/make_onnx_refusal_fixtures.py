"""Writes small ONNX files medpfl must refuse with one line (Tests/CLITests/Fixtures/onnx-*.onnx). Dev-only (onnx 1.23)."""
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T
D = "Tests/CLITests/Fixtures/"
def model(nodes, inits, opset=17, inp=("input", [1, 3, 8, 8]), out=("logits", [1, 2])):
    g = helper.make_graph(nodes, "site", [helper.make_tensor_value_info(inp[0], T.FLOAT, inp[1])],
                          [helper.make_tensor_value_info(out[0], T.FLOAT, out[1])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
w = numpy_helper.from_array(np.random.RandomState(0).randn(2, 192).astype(np.float32), "fc.weight")
b = numpy_helper.from_array(np.zeros(2, np.float32), "fc.bias")
flat = helper.make_node("Flatten", ["input"], ["f"], name="/Flatten")
# An op outside the supported set (an LSTM-free example: Einsum).
onnx.save(model([flat, helper.make_node("Einsum", ["f", "fc.weight"], ["logits"], name="/head/Einsum", equation="bi,oi->bo")], [w]), D + "onnx-unsupported-op.onnx")
# An opset older than 13.
onnx.save(model([flat, helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1)], [w, b], opset=9), D + "onnx-old-opset.onnx")
# Weights in an external file that is not there.
m = model([flat, helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1)], [w, b])
onnx.save_model(m, D + "onnx-external-data.onnx", save_as_external_data=True, all_tensors_to_one_file=True, location="missing.bin", size_threshold=0)
import os; os.remove(D + "missing.bin")
# A good tiny model (the refusals above differ from it in one thing).
onnx.save(model([flat, helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1)], [w, b]), D + "onnx-linear.onnx")
for f in sorted(os.listdir(D)):
    if f.startswith("onnx-"): print(f, os.path.getsize(D + f))
