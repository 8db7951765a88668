;; The entropy-coded scan of jpeg-luma.ts in WebAssembly: the luma's Huffman codes read from the
;; scan's bytes, its coefficients dequantised and put through libjpeg's "islow" inverse DCT
;; (jidctint.c) into the plane; the chroma's codes read past, never transformed. Every sample is
;; libjpeg's (checked by jpeg-luma.test.ts against libjpeg's bytes): the transform's products wrap
;; at 32 bits as they go, which gives libjpeg's results modulo 2^32, as the exact products cut to 32
;; bits by its shifts do. The bit reader is T.81's (Annex F.2.2): a stuffed 0xFF 0x00 is 0xFF, a
;; marker (or the data's end) feeds zero bits, counted, so a scan that needed them is refused.
;; jpeg-luma.ts parses the headers, lays out the tables, the scan's bytes and the plane in this
;; memory, and calls `scan` once.
;; Build: `npm run build:wasm` turns this file into jpeg-scan.wasm.ts.
(module
  (memory (export "memory") 1)

  ;; One 8×8 block: `coef` 64 dequantized coefficients (i32, row-major), `last` the zigzag index
  ;; of the last non-zero one, `ws` 64 i32 of scratch, the samples to `out` with rows `stride`
  ;; apart. libjpeg's two passes (columns with PASS1_BITS = 2 more bits, then rows descaled into
  ;; samples), each on four columns or rows at once in i32x4 lanes: lane for lane the integer
  ;; operations of jidctint.c, with its shortcut for a column or row whose AC terms are all zero (by
  ;; lane: a bitselect). Between the passes the workspace holds, for each group of four rows, one
  ;; vector per column (lanes: the rows), so that pass 2 runs four rows at once too.
  (func $idct (param $coef i32) (param $last i32) (param $ws i32) (param $out i32) (param $stride i32)
    (local $v i32) (local $r i32) (local $o i32) (local $p i32) (local $half i32)
    (local $i0 v128) (local $i1 v128) (local $i2 v128) (local $i3 v128) (local $i4 v128) (local $i5 v128) (local $i6 v128) (local $i7 v128)
    (local $o0 v128) (local $o1 v128) (local $o2 v128) (local $o3 v128) (local $o4 v128) (local $o5 v128) (local $o6 v128) (local $o7 v128)
    (local $flat v128) (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local $z1e v128) (local $t2e v128) (local $t3e v128) (local $t0e v128) (local $t1e v128)
    (local $t10 v128) (local $t11 v128) (local $t12 v128) (local $t13 v128)
    (local $z1 v128) (local $z2 v128) (local $z3 v128) (local $z4 v128) (local $z5 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (if (i32.eqz (local.get $last))
      (then
        ;; Both passes reduce to a rounded shift of the DC term.
        (local.set $v (i32.shr_s
          (i32.add (i32.shl (i32.load (local.get $coef)) (i32.const 2)) (i32.const 16))
          (i32.const 5)))
        (local.set $v (select (i32.const 0) (select (i32.const 255) (i32.add (local.get $v) (i32.const 128)) (i32.gt_s (local.get $v) (i32.const 127))) (i32.lt_s (local.get $v) (i32.const -128))))
        (local.set $r (i32.const 0))
        (local.set $o (local.get $out))
        (loop $rows
          (i64.store (local.get $o) (i64.mul (i64.extend_i32_u (local.get $v)) (i64.const 0x0101010101010101)))
          (local.set $o (i32.add (local.get $o) (local.get $stride)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rows (i32.lt_u (local.get $r) (i32.const 8))))
        (return)))
    ;; Pass 1, columns 0–3 then 4–7: lanes are columns, one vector per row. The results, transposed,
    ;; go to the workspace: rows 0–3's column k at ws + 16k, rows 4–7's at ws + 128 + 16k.
    (local.set $half (i32.const 0))
    (loop $halves
      (local.set $p (i32.add (local.get $coef) (i32.shl (local.get $half) (i32.const 4))))
      (local.set $i0 (v128.load offset=0 (local.get $p)))
      (local.set $i1 (v128.load offset=32 (local.get $p)))
      (local.set $i2 (v128.load offset=64 (local.get $p)))
      (local.set $i3 (v128.load offset=96 (local.get $p)))
      (local.set $i4 (v128.load offset=128 (local.get $p)))
      (local.set $i5 (v128.load offset=160 (local.get $p)))
      (local.set $i6 (v128.load offset=192 (local.get $p)))
      (local.set $i7 (v128.load offset=224 (local.get $p)))
      (local.set $z1e (i32x4.mul (i32x4.add (local.get $i2) (local.get $i6)) (v128.const i32x4 4433 4433 4433 4433)))
      (local.set $t2e (i32x4.sub (local.get $z1e) (i32x4.mul (local.get $i6) (v128.const i32x4 15137 15137 15137 15137))))
      (local.set $t3e (i32x4.add (local.get $z1e) (i32x4.mul (local.get $i2) (v128.const i32x4 6270 6270 6270 6270))))
      (local.set $t0e (i32x4.shl (i32x4.add (local.get $i0) (local.get $i4)) (i32.const 13)))
      (local.set $t1e (i32x4.shl (i32x4.sub (local.get $i0) (local.get $i4)) (i32.const 13)))
      (local.set $t10 (i32x4.add (local.get $t0e) (local.get $t3e)))
      (local.set $t13 (i32x4.sub (local.get $t0e) (local.get $t3e)))
      (local.set $t11 (i32x4.add (local.get $t1e) (local.get $t2e)))
      (local.set $t12 (i32x4.sub (local.get $t1e) (local.get $t2e)))
      (local.set $z5 (i32x4.mul (i32x4.add (i32x4.add (i32x4.add (local.get $i7) (local.get $i5)) (local.get $i3)) (local.get $i1)) (v128.const i32x4 9633 9633 9633 9633)))
      (local.set $z1 (i32x4.mul (i32x4.add (local.get $i7) (local.get $i1)) (v128.const i32x4 -7373 -7373 -7373 -7373)))
      (local.set $z2 (i32x4.mul (i32x4.add (local.get $i5) (local.get $i3)) (v128.const i32x4 -20995 -20995 -20995 -20995)))
      (local.set $z3 (i32x4.add (i32x4.mul (i32x4.add (local.get $i7) (local.get $i3)) (v128.const i32x4 -16069 -16069 -16069 -16069)) (local.get $z5)))
      (local.set $z4 (i32x4.add (i32x4.mul (i32x4.add (local.get $i5) (local.get $i1)) (v128.const i32x4 -3196 -3196 -3196 -3196)) (local.get $z5)))
      (local.set $t0 (i32x4.add (i32x4.add (i32x4.mul (local.get $i7) (v128.const i32x4 2446 2446 2446 2446)) (local.get $z1)) (local.get $z3)))
      (local.set $t1 (i32x4.add (i32x4.add (i32x4.mul (local.get $i5) (v128.const i32x4 16819 16819 16819 16819)) (local.get $z2)) (local.get $z4)))
      (local.set $t2 (i32x4.add (i32x4.add (i32x4.mul (local.get $i3) (v128.const i32x4 25172 25172 25172 25172)) (local.get $z2)) (local.get $z3)))
      (local.set $t3 (i32x4.add (i32x4.add (i32x4.mul (local.get $i1) (v128.const i32x4 12299 12299 12299 12299)) (local.get $z1)) (local.get $z4)))
      (local.set $o0 (i32x4.shr_s (i32x4.add (i32x4.add (local.get $t10) (local.get $t3)) (v128.const i32x4 1024 1024 1024 1024)) (i32.const 11)))
      (local.set $o7 (i32x4.shr_s (i32x4.add (i32x4.sub (local.get $t10) (local.get $t3)) (v128.const i32x4 1024 1024 1024 1024)) (i32.const 11)))
      (local.set $o1 (i32x4.shr_s (i32x4.add (i32x4.add (local.get $t11) (local.get $t2)) (v128.const i32x4 1024 1024 1024 1024)) (i32.const 11)))
      (local.set $o6 (i32x4.shr_s (i32x4.add (i32x4.sub (local.get $t11) (local.get $t2)) (v128.const i32x4 1024 1024 1024 1024)) (i32.const 11)))
      (local.set $o2 (i32x4.shr_s (i32x4.add (i32x4.add (local.get $t12) (local.get $t1)) (v128.const i32x4 1024 1024 1024 1024)) (i32.const 11)))
      (local.set $o5 (i32x4.shr_s (i32x4.add (i32x4.sub (local.get $t12) (local.get $t1)) (v128.const i32x4 1024 1024 1024 1024)) (i32.const 11)))
      (local.set $o3 (i32x4.shr_s (i32x4.add (i32x4.add (local.get $t13) (local.get $t0)) (v128.const i32x4 1024 1024 1024 1024)) (i32.const 11)))
      (local.set $o4 (i32x4.shr_s (i32x4.add (i32x4.sub (local.get $t13) (local.get $t0)) (v128.const i32x4 1024 1024 1024 1024)) (i32.const 11)))
      (local.set $flat (i32x4.eq (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (local.get $i1) (local.get $i2)) (local.get $i3)) (local.get $i4)) (local.get $i5)) (local.get $i6)) (local.get $i7)) (v128.const i32x4 0 0 0 0)))
      (local.set $o0 (v128.bitselect (i32x4.shl (local.get $i0) (i32.const 2)) (local.get $o0) (local.get $flat)))
      (local.set $o1 (v128.bitselect (i32x4.shl (local.get $i0) (i32.const 2)) (local.get $o1) (local.get $flat)))
      (local.set $o2 (v128.bitselect (i32x4.shl (local.get $i0) (i32.const 2)) (local.get $o2) (local.get $flat)))
      (local.set $o3 (v128.bitselect (i32x4.shl (local.get $i0) (i32.const 2)) (local.get $o3) (local.get $flat)))
      (local.set $o4 (v128.bitselect (i32x4.shl (local.get $i0) (i32.const 2)) (local.get $o4) (local.get $flat)))
      (local.set $o5 (v128.bitselect (i32x4.shl (local.get $i0) (i32.const 2)) (local.get $o5) (local.get $flat)))
      (local.set $o6 (v128.bitselect (i32x4.shl (local.get $i0) (i32.const 2)) (local.get $o6) (local.get $flat)))
      (local.set $o7 (v128.bitselect (i32x4.shl (local.get $i0) (i32.const 2)) (local.get $o7) (local.get $flat)))
      (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o0) (local.get $o1)))
      (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $o0) (local.get $o1)))
      (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o2) (local.get $o3)))
      (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $o2) (local.get $o3)))
      (local.set $i0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
      (local.set $i1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
      (local.set $i2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
      (local.set $i3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
      (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o4) (local.get $o5)))
      (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $o4) (local.get $o5)))
      (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o6) (local.get $o7)))
      (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $o6) (local.get $o7)))
      (local.set $i4 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
      (local.set $i5 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
      (local.set $i6 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
      (local.set $i7 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
      (local.set $p (i32.add (local.get $ws) (i32.shl (local.get $half) (i32.const 6))))
      (v128.store offset=0 (local.get $p) (local.get $i0))
      (v128.store offset=128 (local.get $p) (local.get $i4))
      (v128.store offset=16 (local.get $p) (local.get $i1))
      (v128.store offset=144 (local.get $p) (local.get $i5))
      (v128.store offset=32 (local.get $p) (local.get $i2))
      (v128.store offset=160 (local.get $p) (local.get $i6))
      (v128.store offset=48 (local.get $p) (local.get $i3))
      (v128.store offset=176 (local.get $p) (local.get $i7))
      (local.set $half (i32.add (local.get $half) (i32.const 1)))
      (br_if $halves (i32.lt_u (local.get $half) (i32.const 2))))
    ;; Pass 2, rows 0–3 then 4–7: lanes are rows, one vector per column; the results transposed
    ;; back to one vector per row, clamped to −128…127, + 128, and narrowed to bytes.
    (local.set $half (i32.const 0))
    (loop $groups
      (local.set $p (i32.add (local.get $ws) (i32.shl (local.get $half) (i32.const 7))))
      (local.set $i0 (v128.load offset=0 (local.get $p)))
      (local.set $i1 (v128.load offset=16 (local.get $p)))
      (local.set $i2 (v128.load offset=32 (local.get $p)))
      (local.set $i3 (v128.load offset=48 (local.get $p)))
      (local.set $i4 (v128.load offset=64 (local.get $p)))
      (local.set $i5 (v128.load offset=80 (local.get $p)))
      (local.set $i6 (v128.load offset=96 (local.get $p)))
      (local.set $i7 (v128.load offset=112 (local.get $p)))
      (local.set $z1e (i32x4.mul (i32x4.add (local.get $i2) (local.get $i6)) (v128.const i32x4 4433 4433 4433 4433)))
      (local.set $t2e (i32x4.sub (local.get $z1e) (i32x4.mul (local.get $i6) (v128.const i32x4 15137 15137 15137 15137))))
      (local.set $t3e (i32x4.add (local.get $z1e) (i32x4.mul (local.get $i2) (v128.const i32x4 6270 6270 6270 6270))))
      (local.set $t0e (i32x4.shl (i32x4.add (local.get $i0) (local.get $i4)) (i32.const 13)))
      (local.set $t1e (i32x4.shl (i32x4.sub (local.get $i0) (local.get $i4)) (i32.const 13)))
      (local.set $t10 (i32x4.add (local.get $t0e) (local.get $t3e)))
      (local.set $t13 (i32x4.sub (local.get $t0e) (local.get $t3e)))
      (local.set $t11 (i32x4.add (local.get $t1e) (local.get $t2e)))
      (local.set $t12 (i32x4.sub (local.get $t1e) (local.get $t2e)))
      (local.set $z5 (i32x4.mul (i32x4.add (i32x4.add (i32x4.add (local.get $i7) (local.get $i5)) (local.get $i3)) (local.get $i1)) (v128.const i32x4 9633 9633 9633 9633)))
      (local.set $z1 (i32x4.mul (i32x4.add (local.get $i7) (local.get $i1)) (v128.const i32x4 -7373 -7373 -7373 -7373)))
      (local.set $z2 (i32x4.mul (i32x4.add (local.get $i5) (local.get $i3)) (v128.const i32x4 -20995 -20995 -20995 -20995)))
      (local.set $z3 (i32x4.add (i32x4.mul (i32x4.add (local.get $i7) (local.get $i3)) (v128.const i32x4 -16069 -16069 -16069 -16069)) (local.get $z5)))
      (local.set $z4 (i32x4.add (i32x4.mul (i32x4.add (local.get $i5) (local.get $i1)) (v128.const i32x4 -3196 -3196 -3196 -3196)) (local.get $z5)))
      (local.set $t0 (i32x4.add (i32x4.add (i32x4.mul (local.get $i7) (v128.const i32x4 2446 2446 2446 2446)) (local.get $z1)) (local.get $z3)))
      (local.set $t1 (i32x4.add (i32x4.add (i32x4.mul (local.get $i5) (v128.const i32x4 16819 16819 16819 16819)) (local.get $z2)) (local.get $z4)))
      (local.set $t2 (i32x4.add (i32x4.add (i32x4.mul (local.get $i3) (v128.const i32x4 25172 25172 25172 25172)) (local.get $z2)) (local.get $z3)))
      (local.set $t3 (i32x4.add (i32x4.add (i32x4.mul (local.get $i1) (v128.const i32x4 12299 12299 12299 12299)) (local.get $z1)) (local.get $z4)))
      (local.set $o0 (i32x4.shr_s (i32x4.add (i32x4.add (local.get $t10) (local.get $t3)) (v128.const i32x4 131072 131072 131072 131072)) (i32.const 18)))
      (local.set $o7 (i32x4.shr_s (i32x4.add (i32x4.sub (local.get $t10) (local.get $t3)) (v128.const i32x4 131072 131072 131072 131072)) (i32.const 18)))
      (local.set $o1 (i32x4.shr_s (i32x4.add (i32x4.add (local.get $t11) (local.get $t2)) (v128.const i32x4 131072 131072 131072 131072)) (i32.const 18)))
      (local.set $o6 (i32x4.shr_s (i32x4.add (i32x4.sub (local.get $t11) (local.get $t2)) (v128.const i32x4 131072 131072 131072 131072)) (i32.const 18)))
      (local.set $o2 (i32x4.shr_s (i32x4.add (i32x4.add (local.get $t12) (local.get $t1)) (v128.const i32x4 131072 131072 131072 131072)) (i32.const 18)))
      (local.set $o5 (i32x4.shr_s (i32x4.add (i32x4.sub (local.get $t12) (local.get $t1)) (v128.const i32x4 131072 131072 131072 131072)) (i32.const 18)))
      (local.set $o3 (i32x4.shr_s (i32x4.add (i32x4.add (local.get $t13) (local.get $t0)) (v128.const i32x4 131072 131072 131072 131072)) (i32.const 18)))
      (local.set $o4 (i32x4.shr_s (i32x4.add (i32x4.sub (local.get $t13) (local.get $t0)) (v128.const i32x4 131072 131072 131072 131072)) (i32.const 18)))
      (local.set $flat (i32x4.eq (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (local.get $i1) (local.get $i2)) (local.get $i3)) (local.get $i4)) (local.get $i5)) (local.get $i6)) (local.get $i7)) (v128.const i32x4 0 0 0 0)))
      (local.set $o0 (v128.bitselect (i32x4.shr_s (i32x4.add (local.get $i0) (v128.const i32x4 16 16 16 16)) (i32.const 5)) (local.get $o0) (local.get $flat)))
      (local.set $o1 (v128.bitselect (i32x4.shr_s (i32x4.add (local.get $i0) (v128.const i32x4 16 16 16 16)) (i32.const 5)) (local.get $o1) (local.get $flat)))
      (local.set $o2 (v128.bitselect (i32x4.shr_s (i32x4.add (local.get $i0) (v128.const i32x4 16 16 16 16)) (i32.const 5)) (local.get $o2) (local.get $flat)))
      (local.set $o3 (v128.bitselect (i32x4.shr_s (i32x4.add (local.get $i0) (v128.const i32x4 16 16 16 16)) (i32.const 5)) (local.get $o3) (local.get $flat)))
      (local.set $o4 (v128.bitselect (i32x4.shr_s (i32x4.add (local.get $i0) (v128.const i32x4 16 16 16 16)) (i32.const 5)) (local.get $o4) (local.get $flat)))
      (local.set $o5 (v128.bitselect (i32x4.shr_s (i32x4.add (local.get $i0) (v128.const i32x4 16 16 16 16)) (i32.const 5)) (local.get $o5) (local.get $flat)))
      (local.set $o6 (v128.bitselect (i32x4.shr_s (i32x4.add (local.get $i0) (v128.const i32x4 16 16 16 16)) (i32.const 5)) (local.get $o6) (local.get $flat)))
      (local.set $o7 (v128.bitselect (i32x4.shr_s (i32x4.add (local.get $i0) (v128.const i32x4 16 16 16 16)) (i32.const 5)) (local.get $o7) (local.get $flat)))
      (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o0) (local.get $o1)))
      (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $o0) (local.get $o1)))
      (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o2) (local.get $o3)))
      (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $o2) (local.get $o3)))
      (local.set $i0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
      (local.set $i1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
      (local.set $i2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
      (local.set $i3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
      (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o4) (local.get $o5)))
      (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $o4) (local.get $o5)))
      (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $o6) (local.get $o7)))
      (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $o6) (local.get $o7)))
      (local.set $i4 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
      (local.set $i5 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
      (local.set $i6 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
      (local.set $i7 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $stride) (i32.shl (local.get $half) (i32.const 2)))))
      (i64.store (local.get $o) (i64x2.extract_lane 0 (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (i32x4.add (i32x4.max_s (i32x4.min_s (local.get $i0) (v128.const i32x4 127 127 127 127)) (v128.const i32x4 -128 -128 -128 -128)) (v128.const i32x4 128 128 128 128)) (i32x4.add (i32x4.max_s (i32x4.min_s (local.get $i4) (v128.const i32x4 127 127 127 127)) (v128.const i32x4 -128 -128 -128 -128)) (v128.const i32x4 128 128 128 128))) (v128.const i32x4 0 0 0 0))))
      (local.set $o (i32.add (local.get $o) (local.get $stride)))
      (i64.store (local.get $o) (i64x2.extract_lane 0 (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (i32x4.add (i32x4.max_s (i32x4.min_s (local.get $i1) (v128.const i32x4 127 127 127 127)) (v128.const i32x4 -128 -128 -128 -128)) (v128.const i32x4 128 128 128 128)) (i32x4.add (i32x4.max_s (i32x4.min_s (local.get $i5) (v128.const i32x4 127 127 127 127)) (v128.const i32x4 -128 -128 -128 -128)) (v128.const i32x4 128 128 128 128))) (v128.const i32x4 0 0 0 0))))
      (local.set $o (i32.add (local.get $o) (local.get $stride)))
      (i64.store (local.get $o) (i64x2.extract_lane 0 (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (i32x4.add (i32x4.max_s (i32x4.min_s (local.get $i2) (v128.const i32x4 127 127 127 127)) (v128.const i32x4 -128 -128 -128 -128)) (v128.const i32x4 128 128 128 128)) (i32x4.add (i32x4.max_s (i32x4.min_s (local.get $i6) (v128.const i32x4 127 127 127 127)) (v128.const i32x4 -128 -128 -128 -128)) (v128.const i32x4 128 128 128 128))) (v128.const i32x4 0 0 0 0))))
      (local.set $o (i32.add (local.get $o) (local.get $stride)))
      (i64.store (local.get $o) (i64x2.extract_lane 0 (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (i32x4.add (i32x4.max_s (i32x4.min_s (local.get $i3) (v128.const i32x4 127 127 127 127)) (v128.const i32x4 -128 -128 -128 -128)) (v128.const i32x4 128 128 128 128)) (i32x4.add (i32x4.max_s (i32x4.min_s (local.get $i7) (v128.const i32x4 127 127 127 127)) (v128.const i32x4 -128 -128 -128 -128)) (v128.const i32x4 128 128 128 128))) (v128.const i32x4 0 0 0 0))))
      (local.set $half (i32.add (local.get $half) (i32.const 1)))
      (br_if $groups (i32.lt_u (local.get $half) (i32.const 2)))))

  ;; The bit reader: `$count` bits in `$bits`, the oldest highest; the next byte at `$pos`, the scan's
  ;; bytes ending at `$end`. Past a marker (or the end) it feeds zero bytes, their bits counted in `$pad`.
  (global $bits (mut i64) (i64.const 0))
  (global $count (mut i32) (i32.const 0))
  (global $pos (mut i32) (i32.const 0))
  (global $end (mut i32) (i32.const 0))
  (global $atMarker (mut i32) (i32.const 0))
  (global $pad (mut i32) (i32.const 0))

  ;; Refills the reader to more than 56 bits.
  (func $fill
    (local $p i32) (local $byte i32)
    (loop $more
      (local.set $byte (i32.const 0))
      (if (i32.eqz (global.get $atMarker))
        (then
          (local.set $p (global.get $pos))
          (if (i32.ge_u (local.get $p) (global.get $end))
            (then (global.set $atMarker (i32.const 1)))
            (else
              (local.set $byte (i32.load8_u (local.get $p)))
              (if (i32.ne (local.get $byte) (i32.const 0xff))
                (then (global.set $pos (i32.add (local.get $p) (i32.const 1))))
                (else
                  (if (i32.and (i32.lt_u (i32.add (local.get $p) (i32.const 1)) (global.get $end))
                               (i32.eqz (i32.load8_u offset=1 (local.get $p))))
                    (then (global.set $pos (i32.add (local.get $p) (i32.const 2)))) ;; a stuffed zero
                    (else ;; a marker: the reader stays on it
                      (global.set $atMarker (i32.const 1))
                      (local.set $byte (i32.const 0))))))))))
      (if (global.get $atMarker) (then (global.set $pad (i32.add (global.get $pad) (i32.const 8)))))
      (global.set $bits (i64.or (i64.shl (global.get $bits) (i64.const 8)) (i64.extend_i32_u (local.get $byte))))
      (global.set $count (i32.add (global.get $count) (i32.const 8)))
      (br_if $more (i32.le_s (global.get $count) (i32.const 56)))))

  ;; A Huffman table at `$t`, as jpeg-luma.ts lays it out (T.81 Annex C's canonical form): u16 at 0,
  ;; for each 9-bit prefix (length << 8) | symbol of the short code it starts with, 0 for none; i32
  ;; at 1024 the largest code of each length 0–17 (−1 for none, length 17 a sentinel above any code);
  ;; i32 at 1096 the offset from a code of each length 0–16 to its symbol's index; i32 at 1164 the
  ;; symbols' count; the symbols from 1168. Returns the next symbol, −1 for a code no table has.
  (func $symbol (param $t i32) (result i32)
    (local $entry i32) (local $length i32) (local $code i32) (local $index i32)
    (if (i32.lt_s (global.get $count) (i32.const 17)) (then (call $fill)))
    (local.set $entry (i32.load16_u (i32.add (local.get $t) (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (global.get $bits) (i64.extend_i32_u (i32.sub (global.get $count) (i32.const 9))))) (i32.const 511)) (i32.const 1)))))
    (if (local.get $entry)
      (then
        (global.set $count (i32.sub (global.get $count) (i32.shr_u (local.get $entry) (i32.const 8))))
        (return (i32.and (local.get $entry) (i32.const 255)))))
    (local.set $length (i32.const 10))
    (local.set $code (i32.and (i32.wrap_i64 (i64.shr_u (global.get $bits) (i64.extend_i32_u (i32.sub (global.get $count) (i32.const 10))))) (i32.sub (i32.shl (i32.const 1) (i32.const 10)) (i32.const 1))))
    (block $found
      (loop $longer
        (br_if $found (i32.le_s (local.get $code)
          (i32.load offset=1024 (i32.add (local.get $t) (i32.shl (local.get $length) (i32.const 2))))))
        (local.set $length (i32.add (local.get $length) (i32.const 1)))
        (local.set $code (i32.and (i32.wrap_i64 (i64.shr_u (global.get $bits) (i64.extend_i32_u (i32.sub (global.get $count) (local.get $length))))) (i32.sub (i32.shl (i32.const 1) (local.get $length)) (i32.const 1))))
        (br $longer)))
    (if (i32.gt_u (local.get $length) (i32.const 16)) (then (return (i32.const -1))))
    (global.set $count (i32.sub (global.get $count) (local.get $length)))
    (local.set $index (i32.add (local.get $code)
      (i32.load offset=1096 (i32.add (local.get $t) (i32.shl (local.get $length) (i32.const 2))))))
    (if (i32.ge_u (local.get $index) (i32.load offset=1164 (local.get $t))) (then (return (i32.const -1))))
    (i32.load8_u offset=1168 (i32.add (local.get $t) (local.get $index))))

  ;; The next `$size` bits (size ≤ 16) as a signed coefficient: T.81's RECEIVE and EXTEND.
  (func $receive (param $size i32) (result i32)
    (local $v i32)
    (if (i32.eqz (local.get $size)) (then (return (i32.const 0))))
    (if (i32.lt_s (global.get $count) (local.get $size)) (then (call $fill)))
    (local.set $v (i32.and (i32.wrap_i64 (i64.shr_u (global.get $bits) (i64.extend_i32_u (i32.sub (global.get $count) (local.get $size))))) (i32.sub (i32.shl (i32.const 1) (local.get $size)) (i32.const 1))))
    (global.set $count (i32.sub (global.get $count) (local.get $size)))
    (select
      (i32.add (i32.sub (local.get $v) (i32.shl (i32.const 1) (local.get $size))) (i32.const 1))
      (local.get $v)
      (i32.lt_u (local.get $v) (i32.shl (i32.const 1) (i32.sub (local.get $size) (i32.const 1))))))

  ;; Decodes a scan that holds the luma; returns 0, or what was wrong with the data:
  ;;   1 a code that no Huffman table has      2 a DC difference of more than 16 bits
  ;;   3 a coefficient past the end of a block  4 the data ends inside the scan
  ;;   5 the data ends inside a restart interval  6 a restart marker is missing
  ;; `$coef`: 64 i32 for a block's coefficients; `$ws`: 64 i32 of scratch for the inverse DCT.
  ;; `$desc`: the MCU's `$blocks` blocks in order, 4 i32 each: the DC table's address, the AC table's,
  ;; the quantisation table's (64 i32 in zigzag order), and for a luma block its samples' offset
  ;; from the MCU's top left in the plane, −1 for a block that is read past. `$zigzag`: 64 i32, the
  ;; row-major index of each zigzag position. MCUs run `$mcusWide` to a row, `$total` in all, each
  ;; `$mcuWidth` × `$mcuHeight` samples of the plane (rows `$stride` apart); `$interval` MCUs to a
  ;; restart interval (0: none).
  (func (export "scan")
    (param $coef i32) (param $ws i32) (param $zigzag i32) (param $desc i32) (param $blocks i32)
    (param $data i32) (param $length i32) (param $mcusWide i32) (param $total i32) (param $interval i32)
    (param $plane i32) (param $stride i32) (param $mcuWidth i32) (param $mcuHeight i32)
    (result i32)
    (local $mcu i32) (local $mcuX i32) (local $mcuY i32) (local $b i32) (local $d i32)
    (local $offset i32) (local $ac i32) (local $quant i32) (local $s i32) (local $k i32) (local $last i32)
    (local $lumaDc i32) (local $difference i32) (local $p i32) (local $row i32)
    (global.set $bits (i64.const 0))
    (global.set $count (i32.const 0))
    (global.set $pos (local.get $data))
    (global.set $end (i32.add (local.get $data) (local.get $length)))
    (global.set $atMarker (i32.const 0))
    (global.set $pad (i32.const 0))
    (block $done
      (loop $mcus
        (br_if $done (i32.ge_u (local.get $mcu) (local.get $total)))
        ;; (`if` nests: WebAssembly evaluates both operands of an `and`, and a remainder by 0 traps.)
        (if (i32.and (i32.gt_u (local.get $interval) (i32.const 0)) (i32.gt_u (local.get $mcu) (i32.const 0)))
          (then (if (i32.eqz (i32.rem_u (local.get $mcu) (local.get $interval)))
          (then
            ;; The bits left are padding; an RSTn marker must follow (bytes before it are skipped).
            (if (i32.and (global.get $atMarker) (i32.lt_s (global.get $count) (global.get $pad)))
              (then (return (i32.const 5))))
            (local.set $p (global.get $pos))
            (block $marker
              (loop $seek
                (if (i32.ge_u (i32.add (local.get $p) (i32.const 1)) (global.get $end)) (then (return (i32.const 6))))
                (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0xff))
                  (then
                    (local.set $s (i32.load8_u offset=1 (local.get $p)))
                    (if (i32.and (i32.ne (local.get $s) (i32.const 0)) (i32.ne (local.get $s) (i32.const 0xff)))
                      (then
                        (if (i32.gt_u (i32.sub (local.get $s) (i32.const 0xd0)) (i32.const 7)) (then (return (i32.const 6))))
                        (br $marker)))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $seek)))
            (global.set $pos (i32.add (local.get $p) (i32.const 2)))
            (global.set $bits (i64.const 0))
            (global.set $count (i32.const 0))
            (global.set $atMarker (i32.const 0))
            (global.set $pad (i32.const 0))
            (local.set $lumaDc (i32.const 0))))))
        (local.set $row (i32.add (local.get $plane)
          (i32.add (i32.mul (i32.mul (local.get $mcuY) (local.get $mcuHeight)) (local.get $stride))
                   (i32.mul (local.get $mcuX) (local.get $mcuWidth)))))
        (local.set $b (i32.const 0))
        (loop $each
          (local.set $d (i32.add (local.get $desc) (i32.shl (local.get $b) (i32.const 4))))
          (local.set $s (call $symbol (i32.load (local.get $d))))
          (if (i32.lt_s (local.get $s) (i32.const 0)) (then (return (i32.const 1))))
          (if (i32.gt_s (local.get $s) (i32.const 16)) (then (return (i32.const 2))))
          (local.set $difference (call $receive (local.get $s)))
          (local.set $ac (i32.load offset=4 (local.get $d)))
          (local.set $quant (i32.load offset=8 (local.get $d)))
          (local.set $offset (i32.load offset=12 (local.get $d)))
          (local.set $last (i32.const 0))
          (if (i32.ge_s (local.get $offset) (i32.const 0))
            (then
              (local.set $lumaDc (i32.add (local.get $lumaDc) (local.get $difference)))
              (local.set $p (local.get $coef))
              (loop $zero
                (v128.store (local.get $p) (v128.const i64x2 0 0))
                (local.set $p (i32.add (local.get $p) (i32.const 16)))
                (br_if $zero (i32.lt_u (local.get $p) (i32.add (local.get $coef) (i32.const 256)))))
              (i32.store (local.get $coef) (i32.mul (local.get $lumaDc) (i32.load (local.get $quant))))))
          ;; The AC coefficients: (run, size) symbols, 0x00 the end of the block, 0xF0 sixteen zeros.
          (local.set $k (i32.const 1))
          (block $endOfBlock
            (loop $coefficients
              (br_if $endOfBlock (i32.gt_u (local.get $k) (i32.const 63)))
              (local.set $s (call $symbol (local.get $ac)))
              (if (i32.lt_s (local.get $s) (i32.const 0)) (then (return (i32.const 1))))
              (if (i32.eqz (i32.and (local.get $s) (i32.const 15)))
                (then
                  (br_if $endOfBlock (i32.ne (local.get $s) (i32.const 0xf0)))
                  (local.set $k (i32.add (local.get $k) (i32.const 16)))
                  (br $coefficients)))
              (local.set $k (i32.add (local.get $k) (i32.shr_u (local.get $s) (i32.const 4))))
              (if (i32.gt_u (local.get $k) (i32.const 63)) (then (return (i32.const 3))))
              (local.set $difference (call $receive (i32.and (local.get $s) (i32.const 15))))
              (if (i32.ge_s (local.get $offset) (i32.const 0))
                (then
                  (i32.store
                    (i32.add (local.get $coef)
                      (i32.shl (i32.load (i32.add (local.get $zigzag) (i32.shl (local.get $k) (i32.const 2)))) (i32.const 2)))
                    (i32.mul (local.get $difference)
                      (i32.load (i32.add (local.get $quant) (i32.shl (local.get $k) (i32.const 2))))))
                  (local.set $last (local.get $k))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $coefficients)))
          (if (i32.ge_s (local.get $offset) (i32.const 0))
            (then (call $idct (local.get $coef) (local.get $last) (local.get $ws)
                    (i32.add (local.get $row) (local.get $offset)) (local.get $stride))))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br_if $each (i32.lt_u (local.get $b) (local.get $blocks))))
        (local.set $mcu (i32.add (local.get $mcu) (i32.const 1)))
        (local.set $mcuX (i32.add (local.get $mcuX) (i32.const 1)))
        (if (i32.eq (local.get $mcuX) (local.get $mcusWide))
          (then
            (local.set $mcuX (i32.const 0))
            (local.set $mcuY (i32.add (local.get $mcuY) (i32.const 1)))))
        (br $mcus)))
    (if (result i32) (i32.and (global.get $atMarker) (i32.lt_s (global.get $count) (global.get $pad)))
      (then (i32.const 4))
      (else (i32.const 0)))))
