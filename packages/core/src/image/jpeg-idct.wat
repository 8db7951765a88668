;; The inverse DCT of jpeg-luma.ts in WebAssembly: libjpeg's "islow" (jidctint.c), the integer
;; operations the TypeScript it replaced ran, so every sample is the same (checked by
;; jpeg-luma.test.ts against libjpeg's bytes). In TypeScript the products were exact doubles cut to
;; 32 bits by the shifts; here they wrap at 32 bits as they go, which is the same result modulo 2^32.
;; jpeg-luma.ts keeps a block's coefficients, the workspace and the output plane in this memory.
;; Build: `npm run build:wasm` turns this file into jpeg-idct.wasm.ts.
(module
  (memory (export "memory") 1)

  ;; Samples are clamped inline (value < -128 ? 0 : value > 127 ? 255 : value + 128): V8 does not
  ;; inline calls between WebAssembly functions.

  ;; One 8×8 block: `coef` 64 dequantized coefficients (i32, row-major), `last` the zigzag index
  ;; of the last non-zero one, `ws` 64 i32 of scratch, the samples to `out` with rows `stride` apart.
  (func (export "idct") (param $coef i32) (param $last i32) (param $ws i32) (param $out i32) (param $stride i32)
    (local $c i32) (local $p i32) (local $r i32) (local $o i32)
    (local $in1 i32) (local $in2 i32) (local $in3 i32) (local $in4 i32) (local $in5 i32) (local $in6 i32) (local $in7 i32)
    (local $in0 i32)
    (local $z1e i32) (local $t2e i32) (local $t3e i32) (local $t0e i32) (local $t1e i32)
    (local $t10 i32) (local $t11 i32) (local $t12 i32) (local $t13 i32)
    (local $z1 i32) (local $z2 i32) (local $z3 i32) (local $z4 i32) (local $z5 i32)
    (local $t0 i32) (local $t1 i32) (local $t2 i32) (local $t3 i32) (local $v i32)
    (if (i32.eqz (local.get $last))
      (then
        ;; Both passes reduce to a rounded shift of the DC term.
        (local.set $v (block (result i32) (local.set $v (i32.shr_s
          (i32.add (i32.shl (i32.load (local.get $coef)) (i32.const 2)) (i32.const 16))
          (i32.const 5))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))
        (local.set $r (i32.const 0))
        (local.set $o (local.get $out))
        (loop $rows
          (i64.store (local.get $o) (i64.mul (i64.extend_i32_u (local.get $v)) (i64.const 0x0101010101010101)))
          (local.set $o (i32.add (local.get $o) (local.get $stride)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rows (i32.lt_u (local.get $r) (i32.const 8))))
        (return)))
    ;; Pass 1: columns, into the workspace with PASS1_BITS (2) more bits.
    (local.set $c (i32.const 0))
    (loop $cols
      (local.set $p (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 2))))
      (local.set $in0 (i32.load (local.get $p)))
      (local.set $in1 (i32.load offset=32 (local.get $p)))
      (local.set $in2 (i32.load offset=64 (local.get $p)))
      (local.set $in3 (i32.load offset=96 (local.get $p)))
      (local.set $in4 (i32.load offset=128 (local.get $p)))
      (local.set $in5 (i32.load offset=160 (local.get $p)))
      (local.set $in6 (i32.load offset=192 (local.get $p)))
      (local.set $in7 (i32.load offset=224 (local.get $p)))
      (local.set $p (i32.add (local.get $ws) (i32.shl (local.get $c) (i32.const 2))))
      (if (i32.eqz (i32.or (i32.or (i32.or (local.get $in1) (local.get $in2)) (i32.or (local.get $in3) (local.get $in4)))
                           (i32.or (i32.or (local.get $in5) (local.get $in6)) (local.get $in7))))
        (then
          (local.set $v (i32.shl (local.get $in0) (i32.const 2)))
          (i32.store (local.get $p) (local.get $v))
          (i32.store offset=32 (local.get $p) (local.get $v))
          (i32.store offset=64 (local.get $p) (local.get $v))
          (i32.store offset=96 (local.get $p) (local.get $v))
          (i32.store offset=128 (local.get $p) (local.get $v))
          (i32.store offset=160 (local.get $p) (local.get $v))
          (i32.store offset=192 (local.get $p) (local.get $v))
          (i32.store offset=224 (local.get $p) (local.get $v)))
        (else
          (local.set $z1e (i32.mul (i32.add (local.get $in2) (local.get $in6)) (i32.const 4433)))
          (local.set $t2e (i32.sub (local.get $z1e) (i32.mul (local.get $in6) (i32.const 15137))))
          (local.set $t3e (i32.add (local.get $z1e) (i32.mul (local.get $in2) (i32.const 6270))))
          (local.set $t0e (i32.shl (i32.add (local.get $in0) (local.get $in4)) (i32.const 13)))
          (local.set $t1e (i32.shl (i32.sub (local.get $in0) (local.get $in4)) (i32.const 13)))
          (local.set $t10 (i32.add (local.get $t0e) (local.get $t3e)))
          (local.set $t13 (i32.sub (local.get $t0e) (local.get $t3e)))
          (local.set $t11 (i32.add (local.get $t1e) (local.get $t2e)))
          (local.set $t12 (i32.sub (local.get $t1e) (local.get $t2e)))
          (local.set $z5 (i32.mul (i32.add (i32.add (i32.add (local.get $in7) (local.get $in5)) (local.get $in3)) (local.get $in1)) (i32.const 9633)))
          (local.set $z1 (i32.mul (i32.add (local.get $in7) (local.get $in1)) (i32.const -7373)))
          (local.set $z2 (i32.mul (i32.add (local.get $in5) (local.get $in3)) (i32.const -20995)))
          (local.set $z3 (i32.add (i32.mul (i32.add (local.get $in7) (local.get $in3)) (i32.const -16069)) (local.get $z5)))
          (local.set $z4 (i32.add (i32.mul (i32.add (local.get $in5) (local.get $in1)) (i32.const -3196)) (local.get $z5)))
          (local.set $t0 (i32.add (i32.add (i32.mul (local.get $in7) (i32.const 2446)) (local.get $z1)) (local.get $z3)))
          (local.set $t1 (i32.add (i32.add (i32.mul (local.get $in5) (i32.const 16819)) (local.get $z2)) (local.get $z4)))
          (local.set $t2 (i32.add (i32.add (i32.mul (local.get $in3) (i32.const 25172)) (local.get $z2)) (local.get $z3)))
          (local.set $t3 (i32.add (i32.add (i32.mul (local.get $in1) (i32.const 12299)) (local.get $z1)) (local.get $z4)))
          ;; (x + PASS1_ROUND) >> PASS1_SHIFT, PASS1_SHIFT = 11
          (i32.store (local.get $p) (i32.shr_s (i32.add (i32.add (local.get $t10) (local.get $t3)) (i32.const 1024)) (i32.const 11)))
          (i32.store offset=224 (local.get $p) (i32.shr_s (i32.add (i32.sub (local.get $t10) (local.get $t3)) (i32.const 1024)) (i32.const 11)))
          (i32.store offset=32 (local.get $p) (i32.shr_s (i32.add (i32.add (local.get $t11) (local.get $t2)) (i32.const 1024)) (i32.const 11)))
          (i32.store offset=192 (local.get $p) (i32.shr_s (i32.add (i32.sub (local.get $t11) (local.get $t2)) (i32.const 1024)) (i32.const 11)))
          (i32.store offset=64 (local.get $p) (i32.shr_s (i32.add (i32.add (local.get $t12) (local.get $t1)) (i32.const 1024)) (i32.const 11)))
          (i32.store offset=160 (local.get $p) (i32.shr_s (i32.add (i32.sub (local.get $t12) (local.get $t1)) (i32.const 1024)) (i32.const 11)))
          (i32.store offset=96 (local.get $p) (i32.shr_s (i32.add (i32.add (local.get $t13) (local.get $t0)) (i32.const 1024)) (i32.const 11)))
          (i32.store offset=128 (local.get $p) (i32.shr_s (i32.add (i32.sub (local.get $t13) (local.get $t0)) (i32.const 1024)) (i32.const 11)))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $cols (i32.lt_u (local.get $c) (i32.const 8))))
    ;; Pass 2: rows, descaled by the passes' extra bits and the DCT's factor of 8, into samples.
    (local.set $r (i32.const 0))
    (local.set $o (local.get $out))
    (loop $rows
      (local.set $p (i32.add (local.get $ws) (i32.shl (local.get $r) (i32.const 5))))
      (local.set $in0 (i32.load (local.get $p)))
      (local.set $in1 (i32.load offset=4 (local.get $p)))
      (local.set $in2 (i32.load offset=8 (local.get $p)))
      (local.set $in3 (i32.load offset=12 (local.get $p)))
      (local.set $in4 (i32.load offset=16 (local.get $p)))
      (local.set $in5 (i32.load offset=20 (local.get $p)))
      (local.set $in6 (i32.load offset=24 (local.get $p)))
      (local.set $in7 (i32.load offset=28 (local.get $p)))
      (if (i32.eqz (i32.or (i32.or (i32.or (local.get $in1) (local.get $in2)) (i32.or (local.get $in3) (local.get $in4)))
                           (i32.or (i32.or (local.get $in5) (local.get $in6)) (local.get $in7))))
        (then
          (i64.store (local.get $o) (i64.mul (i64.extend_i32_u (block (result i32) (local.set $v (i32.shr_s (i32.add (local.get $in0) (i32.const 16)) (i32.const 5))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128))))) (i64.const 0x0101010101010101))))
        (else
          (local.set $z1e (i32.mul (i32.add (local.get $in2) (local.get $in6)) (i32.const 4433)))
          (local.set $t2e (i32.sub (local.get $z1e) (i32.mul (local.get $in6) (i32.const 15137))))
          (local.set $t3e (i32.add (local.get $z1e) (i32.mul (local.get $in2) (i32.const 6270))))
          (local.set $t0e (i32.shl (i32.add (local.get $in0) (local.get $in4)) (i32.const 13)))
          (local.set $t1e (i32.shl (i32.sub (local.get $in0) (local.get $in4)) (i32.const 13)))
          (local.set $t10 (i32.add (local.get $t0e) (local.get $t3e)))
          (local.set $t13 (i32.sub (local.get $t0e) (local.get $t3e)))
          (local.set $t11 (i32.add (local.get $t1e) (local.get $t2e)))
          (local.set $t12 (i32.sub (local.get $t1e) (local.get $t2e)))
          (local.set $z5 (i32.mul (i32.add (i32.add (i32.add (local.get $in7) (local.get $in5)) (local.get $in3)) (local.get $in1)) (i32.const 9633)))
          (local.set $z1 (i32.mul (i32.add (local.get $in7) (local.get $in1)) (i32.const -7373)))
          (local.set $z2 (i32.mul (i32.add (local.get $in5) (local.get $in3)) (i32.const -20995)))
          (local.set $z3 (i32.add (i32.mul (i32.add (local.get $in7) (local.get $in3)) (i32.const -16069)) (local.get $z5)))
          (local.set $z4 (i32.add (i32.mul (i32.add (local.get $in5) (local.get $in1)) (i32.const -3196)) (local.get $z5)))
          (local.set $t0 (i32.add (i32.add (i32.mul (local.get $in7) (i32.const 2446)) (local.get $z1)) (local.get $z3)))
          (local.set $t1 (i32.add (i32.add (i32.mul (local.get $in5) (i32.const 16819)) (local.get $z2)) (local.get $z4)))
          (local.set $t2 (i32.add (i32.add (i32.mul (local.get $in3) (i32.const 25172)) (local.get $z2)) (local.get $z3)))
          (local.set $t3 (i32.add (i32.add (i32.mul (local.get $in1) (i32.const 12299)) (local.get $z1)) (local.get $z4)))
          ;; (x + PASS2_ROUND) >> PASS2_SHIFT, PASS2_SHIFT = 18
          (i32.store8 (local.get $o) (block (result i32) (local.set $v (i32.shr_s (i32.add (i32.add (local.get $t10) (local.get $t3)) (i32.const 131072)) (i32.const 18))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))
          (i32.store8 offset=7 (local.get $o) (block (result i32) (local.set $v (i32.shr_s (i32.add (i32.sub (local.get $t10) (local.get $t3)) (i32.const 131072)) (i32.const 18))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))
          (i32.store8 offset=1 (local.get $o) (block (result i32) (local.set $v (i32.shr_s (i32.add (i32.add (local.get $t11) (local.get $t2)) (i32.const 131072)) (i32.const 18))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))
          (i32.store8 offset=6 (local.get $o) (block (result i32) (local.set $v (i32.shr_s (i32.add (i32.sub (local.get $t11) (local.get $t2)) (i32.const 131072)) (i32.const 18))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))
          (i32.store8 offset=2 (local.get $o) (block (result i32) (local.set $v (i32.shr_s (i32.add (i32.add (local.get $t12) (local.get $t1)) (i32.const 131072)) (i32.const 18))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))
          (i32.store8 offset=5 (local.get $o) (block (result i32) (local.set $v (i32.shr_s (i32.add (i32.sub (local.get $t12) (local.get $t1)) (i32.const 131072)) (i32.const 18))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))
          (i32.store8 offset=3 (local.get $o) (block (result i32) (local.set $v (i32.shr_s (i32.add (i32.add (local.get $t13) (local.get $t0)) (i32.const 131072)) (i32.const 18))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))
          (i32.store8 offset=4 (local.get $o) (block (result i32) (local.set $v (i32.shr_s (i32.add (i32.sub (local.get $t13) (local.get $t0)) (i32.const 131072)) (i32.const 18))) (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128)))))))
      (local.set $o (i32.add (local.get $o) (local.get $stride)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $r) (i32.const 8))))))
