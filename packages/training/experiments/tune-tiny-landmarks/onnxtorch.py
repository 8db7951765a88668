"""A face-api landmark ONNX graph (fvtrain.landmarks) as a PyTorch module: the weights' dequantisation
folded into float parameters; write() puts trained weights back into a plain-float ONNX graph."""
import numpy as np, onnx, torch, torch.nn.functional as F
from onnx import numpy_helper, helper

class OnnxNet(torch.nn.Module):
    def __init__(self, path, trainable=True):
        super().__init__()
        m = onnx.load(path); g = m.graph
        self.model = m
        consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        self.nodes = []
        for n in g.node:
            if all(x in consts for x in n.input):  # constant subgraph (dequantisation)
                a = [consts[x] for x in n.input]
                if n.op_type == 'Cast': v = a[0].astype(np.float32)
                elif n.op_type == 'Mul': v = (a[0] * a[1]).astype(np.float32)
                elif n.op_type == 'Add': v = (a[0] + a[1]).astype(np.float32)
                elif n.op_type == 'Reshape': v = a[0].reshape(a[1])
                else: raise ValueError(n.op_type)
                consts[n.output[0]] = v
            else:
                self.nodes.append(n)
        used = {x for n in self.nodes for x in n.input}
        self.params = torch.nn.ParameterDict()
        self.fixed = {}
        for k in used:
            if k in consts:
                v = consts[k]
                if v.dtype == np.float32 and v.size > 3 and k not in ('mean_rgb',):
                    self.params[k.replace('.', '_')] = torch.nn.Parameter(torch.from_numpy(v.copy()), requires_grad=trainable)
                else:
                    self.fixed[k] = torch.from_numpy(np.array(v))
        self.output = g.output[0].name

    def val(self, env, k):
        if k in env: return env[k]
        kk = k.replace('.', '_')
        if kk in self.params: return self.params[kk]
        return self.fixed[k]

    def forward(self, image):
        env = {'image': image}
        for n in self.nodes:
            a = [self.val(env, x) for x in n.input]
            at = {x.name: helper.get_attribute_value(x) for x in n.attribute}
            t = n.op_type
            if t == 'Concat': y = torch.cat(a, at['axis'])
            elif t == 'Sub': y = a[0] - a[1].float()
            elif t == 'Div': y = a[0] / a[1].float()
            elif t == 'Add': y = a[0] + a[1]
            elif t == 'Relu': y = torch.relu(a[0])
            elif t == 'Conv':
                p = at.get('pads', [0, 0, 0, 0])
                x = F.pad(a[0], (p[1], p[3], p[0], p[2]))
                y = F.conv2d(x, a[1], None, stride=at.get('strides', [1, 1]), groups=at.get('group', 1))
            elif t == 'Reshape': y = a[0].reshape([int(v) for v in a[1]])
            elif t == 'AveragePool': y = F.avg_pool2d(a[0], at['kernel_shape'], at['strides'])
            elif t == 'Flatten': y = a[0].reshape(a[0].shape[0], -1)
            elif t == 'Gemm': y = a[0] @ a[1] + a[2]
            else: raise ValueError(t)
            env[n.output[0]] = y
        return env[self.output]

    def write(self, path, doc):
        """The graph with every weight a float initializer (the trained values)."""
        g = self.model.graph
        inits = []
        names = set()
        for n in self.nodes:
            for x in n.input:
                if x in names or x == 'image': continue
                kk = x.replace('.', '_')
                if kk in self.params:
                    inits.append(numpy_helper.from_array(self.params[kk].detach().numpy().astype(np.float32), x)); names.add(x)
                elif x in self.fixed:
                    inits.append(numpy_helper.from_array(self.fixed[x].numpy(), x)); names.add(x)
        graph = helper.make_graph(self.nodes, g.name, list(g.input), list(g.output), inits)
        m = helper.make_model(graph, opset_imports=list(self.model.opset_import), producer_name='fvtrain.landmarks (fine-tuned)')
        m.doc_string = doc
        onnx.checker.check_model(m)
        onnx.save(m, path)
