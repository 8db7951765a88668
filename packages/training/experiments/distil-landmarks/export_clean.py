import sys, numpy as np, torch, onnx
from onnx import helper, numpy_helper, TensorProto
sys.path.insert(0, '/tmp/distil')
from student import Student
import qlm
st = Student((16, 32, 64, 128), 2); st.load_state_dict(torch.load('/tmp/distil/student-b.pt')); st.eval()
nodes, inits = [], []; n = [0]
def c(name, a):
    inits.append(numpy_helper.from_array(np.ascontiguousarray(a.astype(np.float32)), name)); return name
def op(kind, ins, **kw):
    n[0] += 1; out = f'{kind}_{n[0]}'; nodes.append(helper.make_node(kind, ins, [out], **kw)); return out
def pads(stride): return [1, 1, 1, 1] if stride == 1 else [0, 0, 1, 1]
def conv(x, m, stride, k, group=1, bias=True):
    ins = [x, c(f'w{n[0]}', m.weight.detach().numpy())] + ([c(f'b{n[0]}', m.bias.detach().numpy())] if bias and m.bias is not None else [])
    return op('Conv', ins, kernel_shape=[k, k], strides=[stride, stride], pads=pads(stride) if k == 3 else [0, 0, 0, 0], group=group)
def sep(x, s):
    y = conv(x, s.dw, s.stride, 3, group=s.dw.in_channels, bias=False)
    return conv(y, s.pw, 1, 1)
x = op('Sub', ['image', c('pad_grey', np.array(qlm.PAD_GREY))])
cur = None
for b, blk in enumerate(st.blocks):
    if b == 0:
        total = op('Relu', [conv(x, st.conv0, 2, 3)]); seps = list(blk)
    else:
        total = op('Relu', [sep(cur, blk[0])]); seps = list(blk)[1:]
    cur = total
    for s in seps:
        total = op('Add', [total, sep(cur, s)]); cur = op('Relu', [total])
p = op('AveragePool', [cur], kernel_shape=[7, 7], strides=[2, 2])
f = op('Flatten', [p], axis=1)
nodes.append(helper.make_node('Gemm', [f, c('fcw', st.fc.weight.detach().numpy().T), c('fcb', st.fc.bias.detach().numpy())], ['landmarks']))
g = helper.make_graph(nodes, 'student', [helper.make_tensor_value_info('image', TensorProto.FLOAT, ['batch', 1, 112, 112])], [helper.make_tensor_value_info('landmarks', TensorProto.FLOAT, ['batch', 136])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); onnx.checker.check_model(m); onnx.save(m, '/tmp/distil/student-b-clean.onnx')
print('ok', len(nodes))
