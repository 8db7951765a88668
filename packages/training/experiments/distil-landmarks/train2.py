# on-the-fly augmentation, float32 teacher
import sys, time, math, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, '/tmp/distil')
from student import *
widths = tuple(int(x) for x in sys.argv[1].split(','))
seps = int(sys.argv[2]); epochs = int(sys.argv[3]); tag = sys.argv[4]
init = sys.argv[5] if len(sys.argv) > 5 else ''
net = teacher_net()
ops = []
for o in net.ops:
    if o[0] == 'conv':
        ops.append((o[0], o[1], o[2], torch.from_numpy(o[3]).float(), torch.from_numpy(o[4]).float(), *o[5:]))
    elif o[0] == 'gemm':
        ops.append((o[0], o[1], o[2], torch.from_numpy(o[3]).float(), torch.from_numpy(o[4]).float()))
    else:
        ops.append(o)
@torch.no_grad()
def teacher(x):  # x: grey - PAD_GREY, float32 [N,1,112,112]
    env = {'input': x}
    for op in ops:
        k = op[0]
        if k == 'conv':
            _, xi, y, w, b, stride, pads, group = op
            t, l, bt, r = pads
            env[y] = F.conv2d(F.pad(env[xi], (l, r, t, bt)), w, b, stride=stride, groups=group)
        elif k == 'add': env[op[3]] = env[op[1]] + env[op[2]]
        elif k == 'relu': env[op[2]] = torch.relu(env[op[1]])
        elif k == 'avgpool': env[op[2]] = F.avg_pool2d(env[op[1]], op[3], op[4])
        elif k == 'flatten': env[op[2]] = env[op[1]].reshape(env[op[1]].shape[0], -1)
        elif k == 'gemm': env[op[2]] = env[op[1]] @ op[3] + op[4]
    return env[net.output]
train = torch.from_numpy(load('/tmp/tchips').astype(np.float32))[:, None]
names = [l.split('\t')[1] for l in open('/tmp/chips/index.tsv').read().splitlines()[1:]]
import fvtrain.data as fd
dev, _ = fd.excluded_people(['/work/shared/data/lfw-pairs/pairsDevTest.txt'])
allc = load('/tmp/chips')
vi = [i for i, n in enumerate(names) if n in dev][:400]
Vx = torch.from_numpy(allc[vi].astype(np.float32) - qlm.PAD_GREY)[:, None]
VY = teacher(Vx).numpy()
st = Student(widths, seps)
if init: st.load_state_dict(torch.load(init))
w = torch.ones(68); w[27:48] = 2; w[60:68] = 2; w = w.repeat_interleave(2)
def ear(l, f):
    P = l.reshape(-1, 68, 2)[:, f:f + 6]
    return (np.linalg.norm(P[:, 1] - P[:, 5], axis=1) + np.linalg.norm(P[:, 2] - P[:, 4], axis=1)) / (2 * np.linalg.norm(P[:, 0] - P[:, 3], axis=1))
def evaluate():
    st.eval()
    with torch.no_grad(): p = st(Vx).numpy()
    st.train()
    d = np.linalg.norm((p - VY).reshape(-1, 68, 2), axis=2) * SIDE
    return d.mean(), d[:, 27:48].mean(), d[:, 48:68].mean(), np.percentile(d, 95), np.abs(ear(p, 36) - ear(VY, 36)).mean()
def augment(x):
    n = len(x)
    ang = (torch.rand(n) - 0.5) * math.radians(24)
    sc = 1 + (torch.rand(n) - 0.5) * 0.2
    tx = (torch.rand(n) - 0.5) * 0.14; ty = (torch.rand(n) - 0.5) * 0.14
    flip = (torch.rand(n) < 0.5).float() * 2 - 1
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    y = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
    y = y * (0.75 + 0.5 * torch.rand(n, 1, 1, 1)) + (torch.rand(n, 1, 1, 1) - 0.5) * 50
    return torch.clamp(torch.round(y), 0, 255)
print('init', ['%.3f' % v for v in evaluate()], flush=True)
B = 64; per = len(train) // B
opt = torch.optim.AdamW(st.parameters(), lr=2e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=epochs * per, pct_start=0.05)
for ep in range(epochs):
    perm = torch.randperm(len(train)); tl = 0; t1 = time.time()
    for i in range(per):
        x = augment(train[perm[i * B:(i + 1) * B]]) - qlm.PAD_GREY
        y = teacher(x) * SIDE
        loss = (F.smooth_l1_loss(st(x) * SIDE, y, reduction='none') * w).mean()
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tl += loss.item()
    print(ep, 'loss %.4f' % (tl / per), 'val mean/rigid/mouth/p95/ear', ['%.3f' % v for v in evaluate()], '%ds' % (time.time() - t1), flush=True)
    torch.save(st.state_dict(), f'/tmp/distil/student-{tag}.pt')
class Wrapped(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, image): return s.m(image - qlm.PAD_GREY)
st.eval()
torch.onnx.export(Wrapped(st), torch.zeros(1, 1, SIDE, SIDE), f'/tmp/distil/student-{tag}.onnx', input_names=['image'], output_names=['landmarks'], dynamic_axes={'image': {0: 'batch'}, 'landmarks': {0: 'batch'}}, opset_version=13)
print('exported', flush=True)
