import sys, time, math, zlib, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, '/tmp/tiny')
from onnxtorch import OnnxNet
torch.set_num_threads(2); torch.manual_seed(0)
epochs = int(sys.argv[1]); lr = float(sys.argv[2])
S = 112
chips = np.fromfile('/tmp/tiny/chips/chips.u8', np.uint8).reshape(-1, 1, S, S)
names = [l.split('\t')[1] for l in open('/tmp/tiny/chips/index.tsv').read().splitlines()[1:]]
val = np.array([zlib.crc32(n.encode()) % 10 == 0 for n in names])
X = torch.from_numpy(chips.astype(np.float32))
Xt, Xv = X[~val], X[val]
print('train', len(Xt), 'val', len(Xv), flush=True)
teacher = OnnxNet('/tmp/tiny/full.onnx', trainable=False).eval()
student = OnnxNet('/tmp/tiny/tiny.onnx')
with torch.no_grad():
    Yv = teacher(Xv)
w = torch.ones(68); w[27:48] = 2; w[60:68] = 2; w = w.repeat_interleave(2)
def evaluate():
    with torch.no_grad(): p = student(Xv)
    d = ((p - Yv) * S).reshape(-1, 68, 2).norm(dim=2)
    return 'mean %.3f rigid %.3f jaw %.3f mouth %.3f p95 %.3f' % (d.mean(), d[:, 27:48].mean(), d[:, 0:17].mean(), d[:, 48:68].mean(), d.flatten().quantile(0.95))
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
print('init', evaluate(), flush=True)
B = 64; per = len(Xt) // B
opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=1e-5)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * per, pct_start=0.1)
for ep in range(epochs):
    perm = torch.randperm(len(Xt)); tl = 0; t1 = time.time()
    for i in range(per):
        x = augment(Xt[perm[i * B:(i + 1) * B]])
        with torch.no_grad(): y = teacher(x) * S
        loss = (F.smooth_l1_loss(student(x) * S, y, reduction='none') * w).mean()
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tl += loss.item()
    print(ep, 'loss %.4f' % (tl / per), evaluate(), '%ds' % (time.time() - t1), flush=True)
    student.write('/tmp/tiny/tuned.onnx', 'face-api face_landmark_68_tiny_model (MIT) fine-tuned towards face_landmark_68_model on LFW chips of people outside pairs.txt and pairsDevTest.txt')
print('done', flush=True)
