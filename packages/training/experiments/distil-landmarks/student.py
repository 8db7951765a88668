import sys, time, json, numpy as np, torch, torch.nn as nn, torch.nn.functional as F, onnx
sys.path.insert(0, '/tmp/distil'); sys.path.insert(0, '/work/main/packages/training')
import qlm
torch.set_num_threads(2)
SIDE = 112

def teacher_net():
    return qlm.fold(onnx.load('/work/main/models/siamese-v5-int8/landmarks.onnx'))

class Sep(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__(); s.stride = stride
        s.dw = nn.Conv2d(cin, cin, 3, stride, 0, groups=cin, bias=False)
        s.pw = nn.Conv2d(cin, cout, 1, bias=True)
    def pad(s, x):
        return F.pad(x, (1, 1, 1, 1)) if s.stride == 1 else F.pad(x, (0, 1, 0, 1))
    def forward(s, x):
        return s.pw(s.dw(s.pad(x)))

class Student(nn.Module):
    """face-api's dense-block landmark net at reduced width/depth. Input: grey - PAD_GREY (float)."""
    def __init__(s, widths=(16, 32, 64, 128), seps=2):
        super().__init__()
        s.conv0 = nn.Conv2d(1, widths[0], 3, 2, 0, bias=True)
        s.blocks = nn.ModuleList()
        for b, w in enumerate(widths):
            first = None if b == 0 else Sep(widths[b - 1], w, 2)
            s.blocks.append(nn.ModuleList([first] + [Sep(w, w, 1) for _ in range(seps)]) if first else nn.ModuleList([Sep(w, w, 1) for _ in range(seps)]))
        s.fc = nn.Linear(widths[-1], 136)
    def forward(s, x):
        for b, blk in enumerate(s.blocks):
            if b == 0:
                total = torch.relu(s.conv0(F.pad(x, (0, 1, 0, 1)))); seps = list(blk)
            else:
                total = torch.relu(blk[0](cur)); seps = list(blk)[1:]
            cur = total
            for sep in seps:
                total = total + sep(cur); cur = torch.relu(total)
        return s.fc(F.avg_pool2d(cur, 7, 2).flatten(1))

def init_from_teacher(st, net, chips, widths, seps):
    """Copy the teacher's weights on the channels whose running sums are largest."""
    ops = net.ops; convs = [o for o in ops if o[0] == 'conv']
    trace = {}; net.run(chips[:64], trace)
    # teacher structure: conv0, then per block: [sep s2 (dw,pw) for b>0], 3 seps (dw, pw)
    idx = 0
    def nxt():
        nonlocal idx; c = convs[idx]; idx += 1; return c
    chosen = []
    c0 = nxt()
    # block output channel magnitude from relu after conv0.. use the block's last running sum
    sums = [o for o in ops if o[0] == 'add']
    # 3 adds per block
    for b in range(4):
        last = sums[3 * b + 2][3]
        mag = trace[last].abs().mean(dim=(0, 2, 3)).numpy()
        chosen.append(np.sort(np.argsort(-mag)[:widths[b]]))
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).float()
    S = chosen
    st.conv0.weight.data = t(c0[3][S[0]]); st.conv0.bias.data = t(c0[4][S[0]])
    for b in range(4):
        blk = st.blocks[b]
        teacher_seps = []
        if b > 0:
            dw, pw = nxt(), nxt(); teacher_seps.append(('first', dw, pw))
        for k in range(3):
            dw, pw = nxt(), nxt(); teacher_seps.append(('sep', dw, pw))
        mods = list(blk)
        if b > 0:
            _, dw, pw = teacher_seps[0]
            mods[0].dw.weight.data = t(dw[3][S[b - 1]]); mods[0].pw.weight.data = t(pw[3][S[b]][:, S[b - 1]]); mods[0].pw.bias.data = t(pw[4][S[b]])
            rest_t = teacher_seps[1:]; rest_m = mods[1:]
        else:
            rest_t = teacher_seps; rest_m = mods
        for m, (_, dw, pw) in zip(rest_m, rest_t[:seps]):
            m.dw.weight.data = t(dw[3][S[b]]); m.pw.weight.data = t(pw[3][S[b]][:, S[b]]); m.pw.bias.data = t(pw[4][S[b]])
    g = [o for o in ops if o[0] == 'gemm'][0]
    st.fc.weight.data = t(g[3][S[3]].T); st.fc.bias.data = t(g[4])

def load(d):
    meta = json.load(open(f'{d}/meta.json'))
    return np.fromfile(f'{d}/chips.u8', dtype=np.uint8).reshape(-1, SIDE, SIDE)

def teacher_targets(net, chips):
    out = []
    for i in range(0, len(chips), 128):
        out.append(net.run(chips[i:i + 128]).astype(np.float32))
    return np.concatenate(out)
