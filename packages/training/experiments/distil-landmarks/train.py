import sys, time, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, '/tmp/distil')
from student import *
widths = tuple(int(x) for x in sys.argv[1].split(',')) if len(sys.argv) > 1 else (16, 32, 64, 128)
seps = int(sys.argv[2]) if len(sys.argv) > 2 else 2
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 12
tag = sys.argv[4] if len(sys.argv) > 4 else 'a'
net = teacher_net()
train = load('/tmp/tchips')
train = np.concatenate([train, train[:, :, ::-1]])
t0 = time.time()
try:
    Y = np.load('/tmp/distil/targets.npy'); assert len(Y) == len(train)
except Exception:
    Y = teacher_targets(net, train); np.save('/tmp/distil/targets.npy', Y)
print('targets', Y.shape, round(time.time() - t0), 's', flush=True)
# validation: DevTest people's first images (never trained on)
names = [l.split('\t')[1] for l in open('/tmp/chips/index.tsv').read().splitlines()[1:]]
import fvtrain.data as fd
dev, _ = fd.excluded_people(['/work/shared/data/lfw-pairs/pairsDevTest.txt'])
allc = load('/tmp/chips')
vi = [i for i, n in enumerate(names) if n in dev][:400]
V = allc[vi]; VY = teacher_targets(net, V)
st = Student(widths, seps)
init_from_teacher(st, net, train[:64], widths, seps)
X = torch.from_numpy(train.astype(np.float32) - qlm.PAD_GREY)[:, None]
Yt = torch.from_numpy(Y) * SIDE
Vx = torch.from_numpy(V.astype(np.float32) - qlm.PAD_GREY)[:, None]
w = torch.ones(68); w[27:48] = 2; w[60:68] = 2
w = w.repeat_interleave(2)
def evaluate():
    st.eval()
    with torch.no_grad():
        p = st(Vx).numpy()
    st.train()
    d = np.linalg.norm((p - VY).reshape(-1, 68, 2), axis=2) * SIDE
    # EAR of both eyes
    def ear(l, f):
        P = l.reshape(-1, 68, 2)[:, f:f + 6]
        return (np.linalg.norm(P[:, 1] - P[:, 5], axis=1) + np.linalg.norm(P[:, 2] - P[:, 4], axis=1)) / (2 * np.linalg.norm(P[:, 0] - P[:, 3], axis=1))
    e = np.abs(ear(p, 36) - ear(VY, 36)).mean()
    return d.mean(), d[:, 27:48].mean(), np.percentile(d, 95), e
print('init', ['%.3f' % v for v in evaluate()], flush=True)
opt = torch.optim.AdamW(st.parameters(), lr=2e-3, weight_decay=1e-4)
steps = epochs * (len(X) // 64); sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps, pct_start=0.1)
for ep in range(epochs):
    perm = torch.randperm(len(X)); tl = 0; t1 = time.time()
    for i in range(0, len(X) - 63, 64):
        b = perm[i:i + 64]
        x = X[b]
        # brightness/contrast jitter
        x = (x + qlm.PAD_GREY) * (0.8 + 0.4 * torch.rand(len(b), 1, 1, 1)) + (torch.rand(len(b), 1, 1, 1) - 0.5) * 40 - qlm.PAD_GREY
        loss = (F.smooth_l1_loss(st(x) * SIDE, Yt[b], reduction='none') * w).mean()
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tl += loss.item()
    print(ep, 'loss %.4f' % (tl / (len(X) // 64)), 'val', ['%.3f' % v for v in evaluate()], '%ds' % (time.time() - t1), flush=True)
torch.save(st.state_dict(), f'/tmp/distil/student-{tag}.pt')
class Wrapped(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, image): return s.m(image - qlm.PAD_GREY)
st.eval()
torch.onnx.export(Wrapped(st), torch.zeros(1, 1, SIDE, SIDE), f'/tmp/distil/student-{tag}.onnx', input_names=['image'], output_names=['landmarks'], dynamic_axes={'image': {0: 'batch'}, 'landmarks': {0: 'batch'}}, opset_version=13)
print('exported')
