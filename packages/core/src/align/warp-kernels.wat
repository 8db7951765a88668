;; The inner loops of `warpSimilarity` (similarity.ts), in WebAssembly: the same float operations in
;; the same order as the TypeScript they replaced, so every output byte is the same (checked by
;; warp-kernels.test.ts against a digest of those loops' outputs). A typed-array load costs V8
;; several times a WebAssembly load: the unrotated chip's separable passes take a third of their
;; TypeScript time; the rotated crop, a full bilinear sample per tap, 0.85 of it, and 0.78 of that
;; again where its taps run two at a time in f64x2 lanes (each lane the scalar tap's operations, the
;; lanes added to the sum in the taps' order; 0.355 → 0.279 ms for person A's 62×47 crops at 4×4
;; taps, one thread, warm), and 0.72 of that again where each pair's neighbours are read straight
;; into lanes (v128.load8_lane) and converted signed, and its pixel offsets come from the floors'
;; bits instead of i32x4.trunc_sat (0.283 → 0.20–0.23 ms, same crops; a frame 100 ms after the last,
;; 0.34 → 0.22–0.26). The unrotated passes gained nothing so (their time is in the gathers; their
;; column-pair down pass was measured too), and keep their scalar loops. The tables (tap
;; positions and weights, each column's and row's extremes) are computed by similarity.ts and
;; written into this memory with the image; these functions only run the per-pixel loops. Build: `npm run build:wasm`
;; (packages/core/scripts/build-wasm.ts) turns this file into warp-kernels.wasm.ts.
;;
;; A tap's integer coordinate (TypeScript's `px | 0`, px >= 0 there) is floor(px) + 1.5·2^52 read as
;; bits: exact for 0 <= px < 2^31, and cheaper in V8 than i32.trunc_f64_s (which checks for a trap)
;; or i32.trunc_sat_f64_s (measured on the 62×47 crop).
;;
;; Rounding: the output byte is Math.round(sum / taps), i.e. floor(v) + (v - floor(v) >= 0.5) for
;; v >= 0 (v - floor(v) is exact there), which is what Math.round gives; f64.nearest would round
;; ties to even instead.
(module
  (memory (export "memory") 1)

  ;; Written out where used, not as functions: V8 does not inline calls between WebAssembly
  ;; functions, and one per output pixel cost a tenth of the kernels' time.

  ;; The unrotated warp (see warpAxisAligned in similarity.ts). Tables, `n = width·samples` or
  ;; `height·samples` entries each: x0/x1 (i32) and gx = 1 − fx, fx (f64) per column tap; y0/y1
  ;; (i32) and gy, fy (f64) per row tap. `across`: (maxRow − minRow + 1)·width f64 of scratch,
  ;; `sums`: width f64 of scratch.
  (func (export "axisAligned")
    (param $img i32) (param $w i32)
    (param $x0s i32) (param $x1s i32) (param $gxs i32) (param $fxs i32)
    (param $y0s i32) (param $y1s i32) (param $gys i32) (param $fys i32)
    (param $width i32) (param $height i32) (param $samples i32) (param $channels i32)
    (param $minRow i32) (param $maxRow i32)
    (param $across i32) (param $sums i32) (param $out i32)
    (local $r i32) (local $row i32) (local $dst i32) (local $x i32) (local $i i32) (local $end i32)
    (local $sum f64) (local $y i32) (local $j i32) (local $top i32) (local $bottom i32)
    (local $gy f64) (local $fy f64) (local $v f64) (local $taps f64) (local $k i32)
    (local $rv f64) (local $rf f64) (local $q i32) (local $at i32) (local $c i32)
    ;; Across: each source row's sum of every column's taps.
    (local.set $r (local.get $minRow))
    (local.set $dst (local.get $across))
    (loop $rows
      (local.set $row (i32.add (local.get $img) (i32.mul (local.get $r) (local.get $w))))
      (local.set $x (i32.const 0))
      (local.set $i (i32.const 0))
      (loop $cols
        (local.set $end (i32.add (local.get $i) (local.get $samples)))
        (local.set $sum
          (f64.add
            (f64.mul
              (f64.convert_i32_u (i32.load8_u (i32.add (local.get $row)
                (i32.load (i32.add (local.get $x0s) (i32.shl (local.get $i) (i32.const 2)))))))
              (f64.load (i32.add (local.get $gxs) (i32.shl (local.get $i) (i32.const 3)))))
            (f64.mul
              (f64.convert_i32_u (i32.load8_u (i32.add (local.get $row)
                (i32.load (i32.add (local.get $x1s) (i32.shl (local.get $i) (i32.const 2)))))))
              (f64.load (i32.add (local.get $fxs) (i32.shl (local.get $i) (i32.const 3)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (block $taps_done
          (loop $taps
            (br_if $taps_done (i32.ge_u (local.get $i) (local.get $end)))
            (local.set $sum
              (f64.add (local.get $sum)
                (f64.add
                  (f64.mul
                    (f64.convert_i32_u (i32.load8_u (i32.add (local.get $row)
                      (i32.load (i32.add (local.get $x0s) (i32.shl (local.get $i) (i32.const 2)))))))
                    (f64.load (i32.add (local.get $gxs) (i32.shl (local.get $i) (i32.const 3)))))
                  (f64.mul
                    (f64.convert_i32_u (i32.load8_u (i32.add (local.get $row)
                      (i32.load (i32.add (local.get $x1s) (i32.shl (local.get $i) (i32.const 2)))))))
                    (f64.load (i32.add (local.get $fxs) (i32.shl (local.get $i) (i32.const 3))))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $taps)))
        (f64.store (local.get $dst) (local.get $sum))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $x) (local.get $width))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows (i32.le_s (local.get $r) (local.get $maxRow))))
    ;; Down: per output row, each row tap over the whole row into `sums`, in the taps' order.
    (local.set $taps (f64.convert_i32_u (i32.mul (local.get $samples) (local.get $samples))))
    (local.set $y (i32.const 0))
    (loop $outRows
      (local.set $j (i32.const 0))
      (loop $rowTaps
        (local.set $i (i32.add (i32.mul (local.get $y) (local.get $samples)) (local.get $j)))
        (local.set $top (i32.add (local.get $across) (i32.shl (i32.mul
          (i32.sub (i32.load (i32.add (local.get $y0s) (i32.shl (local.get $i) (i32.const 2)))) (local.get $minRow))
          (local.get $width)) (i32.const 3))))
        (local.set $bottom (i32.add (local.get $across) (i32.shl (i32.mul
          (i32.sub (i32.load (i32.add (local.get $y1s) (i32.shl (local.get $i) (i32.const 2)))) (local.get $minRow))
          (local.get $width)) (i32.const 3))))
        (local.set $gy (f64.load (i32.add (local.get $gys) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $fy (f64.load (i32.add (local.get $fys) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $k (i32.const 0))
        (loop $xs
          (local.set $v
            (f64.add
              (f64.mul (f64.load (i32.add (local.get $top) (local.get $k))) (local.get $gy))
              (f64.mul (f64.load (i32.add (local.get $bottom) (local.get $k))) (local.get $fy))))
          (if (local.get $j)
            (then (local.set $v (f64.add (f64.load (i32.add (local.get $sums) (local.get $k))) (local.get $v)))))
          (f64.store (i32.add (local.get $sums) (local.get $k)) (local.get $v))
          (local.set $k (i32.add (local.get $k) (i32.const 8)))
          (br_if $xs (i32.lt_u (local.get $k) (i32.shl (local.get $width) (i32.const 3)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $rowTaps (i32.lt_u (local.get $j) (local.get $samples))))
      (local.set $x (i32.const 0))
      (loop $put
        ;; Math.round(v) for v >= 0: floor(v) + (v - floor(v) >= 0.5), written `channels` times.
        (local.set $rv (f64.div (f64.load (i32.add (local.get $sums) (i32.shl (local.get $x) (i32.const 3)))) (local.get $taps)))
        (local.set $rf (f64.floor (local.get $rv)))
        (local.set $q (i32.add (i32.trunc_f64_s (local.get $rf))
          (f64.ge (f64.sub (local.get $rv) (local.get $rf)) (f64.const 0.5))))
        (local.set $at (i32.add (local.get $out)
          (i32.mul (i32.add (i32.mul (local.get $y) (local.get $width)) (local.get $x)) (local.get $channels))))
        (i32.store8 (local.get $at) (local.get $q))
        (if (i32.gt_u (local.get $channels) (i32.const 1))
          (then
            (local.set $c (i32.const 1))
            (loop $channel
              (i32.store8 (i32.add (local.get $at) (local.get $c)) (local.get $q))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br_if $channel (i32.lt_u (local.get $c) (local.get $channels))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br_if $put (i32.lt_u (local.get $x) (local.get $width))))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br_if $outRows (i32.lt_u (local.get $y) (local.get $height)))))

  ;; The rotated warp (see warpSimilarity in similarity.ts), tap by tap. Tables: colA/colB
  ;; (width·samples f64: the inverse matrix's products with each column tap's x), rowA/rowB
  ;; (height·samples f64, with each row tap's y); colAMin/colAMax/colBMin/colBMax (width f64: each
  ;; column's extremes over its taps); rowExt (height × 4 f64: each row's rbMin, rbMax, raMin,
  ;; raMax). A pixel whose taps all fall inside the image with a right and lower neighbour takes the
  ;; unclamped loop; the others clamp each tap to the image.
  (func (export "rotated")
    (param $img i32) (param $w i32) (param $h i32)
    (param $colA i32) (param $colB i32) (param $rowA i32) (param $rowB i32)
    (param $colAMin i32) (param $colAMax i32) (param $colBMin i32) (param $colBMax i32) (param $rowExt i32)
    (param $width i32) (param $height i32) (param $samples i32) (param $channels i32) (param $out i32)
    (local $maxX f64) (local $maxY f64) (local $taps f64) (local $y i32) (local $x i32)
    (local $rbMin f64) (local $rbMax f64) (local $raMin f64) (local $raMax f64)
    (local $sum f64) (local $sy i32) (local $sx i32) (local $rb f64) (local $ra f64)
    (local $k i32) (local $px f64) (local $py f64) (local $x0 i32) (local $y0 i32)
    (local $fx f64) (local $fy f64) (local $gx f64) (local $i00 i32) (local $top f64) (local $bottom f64)
    (local $dx i32) (local $dy i32) (local $x8 i32)
    (local $rv f64) (local $rf f64) (local $q i32) (local $at i32) (local $c i32)
    (local $rbv v128) (local $rav v128) (local $pxv v128) (local $pyv v128) (local $fpx v128) (local $fpy v128)
    (local $fxv v128) (local $fyv v128) (local $gxv v128) (local $topv v128) (local $bottomv v128)
    (local $tv v128) (local $mx v128) (local $my v128) (local $magicv v128) (local $zerov v128) (local $onev v128) (local $halfv v128) (local $ia i32) (local $ib i32)
    (local.set $onev (f64x2.splat (f64.const 1)))
    (local.set $magicv (f64x2.splat (f64.const 0x1.8p+52)))
    (local.set $halfv (f64x2.splat (f64.const 0.5)))
    (local.set $maxX (f64.convert_i32_s (i32.sub (local.get $w) (i32.const 1))))
    (local.set $maxY (f64.convert_i32_s (i32.sub (local.get $h) (i32.const 1))))
    (local.set $taps (f64.convert_i32_u (i32.mul (local.get $samples) (local.get $samples))))
    (local.set $y (i32.const 0))
    (loop $rows
      (local.set $rbMin (f64.load (i32.add (local.get $rowExt) (i32.shl (local.get $y) (i32.const 5)))))
      (local.set $rbMax (f64.load offset=8 (i32.add (local.get $rowExt) (i32.shl (local.get $y) (i32.const 5)))))
      (local.set $raMin (f64.load offset=16 (i32.add (local.get $rowExt) (i32.shl (local.get $y) (i32.const 5)))))
      (local.set $raMax (f64.load offset=24 (i32.add (local.get $rowExt) (i32.shl (local.get $y) (i32.const 5)))))
      (local.set $x (i32.const 0))
      (loop $cols
        (local.set $x8 (i32.shl (local.get $x) (i32.const 3)))
        (local.set $sum (f64.const 0))
        (local.set $sy (i32.const 0))
        (if (i32.and
              (i32.and
                (f64.ge (f64.sub (f64.sub (f64.load (i32.add (local.get $colAMin) (local.get $x8))) (local.get $rbMax)) (f64.const 0.5)) (f64.const 0))
                (f64.lt (f64.sub (f64.sub (f64.load (i32.add (local.get $colAMax) (local.get $x8))) (local.get $rbMin)) (f64.const 0.5)) (local.get $maxX)))
              (i32.and
                (f64.ge (f64.sub (f64.add (f64.load (i32.add (local.get $colBMin) (local.get $x8))) (local.get $raMin)) (f64.const 0.5)) (f64.const 0))
                (f64.lt (f64.sub (f64.add (f64.load (i32.add (local.get $colBMax) (local.get $x8))) (local.get $raMax)) (f64.const 0.5)) (local.get $maxY))))
          (then
            (loop $tapRowsIn
              (local.set $rb (f64.load (i32.add (local.get $rowB)
                (i32.shl (i32.add (i32.mul (local.get $y) (local.get $samples)) (local.get $sy)) (i32.const 3)))))
              (local.set $ra (f64.load (i32.add (local.get $rowA)
                (i32.shl (i32.add (i32.mul (local.get $y) (local.get $samples)) (local.get $sy)) (i32.const 3)))))
              (local.set $sx (i32.const 0))
              ;; Two taps at a time (sx, sx + 1: adjacent in the tables), each lane the scalar tap's
              ;; operations on its own values; the lanes are added to the sum in the taps' order, so the
              ;; result is the scalar loop's to the bit. floor(px) is an integer below 2^31 here (px >= 0), so
              ;; the bit trick gives the scalar x0, and px - floor(px) is the scalar fx.
              (local.set $rbv (f64x2.splat (local.get $rb)))
              (local.set $rav (f64x2.splat (local.get $ra)))
              (block $pairsDone
                (loop $pairs
                  (br_if $pairsDone (i32.ge_u (i32.add (local.get $sx) (i32.const 1)) (local.get $samples)))
                  (local.set $k (i32.shl (i32.add (i32.mul (local.get $x) (local.get $samples)) (local.get $sx)) (i32.const 3)))
                  (local.set $pxv (f64x2.sub (f64x2.sub (v128.load (i32.add (local.get $colA) (local.get $k))) (local.get $rbv)) (local.get $halfv)))
                  (local.set $pyv (f64x2.sub (f64x2.add (v128.load (i32.add (local.get $colB) (local.get $k))) (local.get $rav)) (local.get $halfv)))
                  (local.set $fpx (f64x2.floor (local.get $pxv)))
                  (local.set $fpy (f64x2.floor (local.get $pyv)))
                  (local.set $fxv (f64x2.sub (local.get $pxv) (local.get $fpx)))
                  (local.set $fyv (f64x2.sub (local.get $pyv) (local.get $fpy)))
                  (local.set $gxv (f64x2.sub (local.get $onev) (local.get $fxv)))
                  ;; Each tap's first pixel: floor(p) + 1.5·2^52 holds the integer in its low 32 bits
                  ;; (i32 lanes 0 and 2), as in the scalar tap; its four neighbours are read into i32 lanes
                  ;; 0 (tap sx) and 1 (tap sx + 1) of a zeroed vector, whose low lanes convert to f64.
                  (local.set $mx (f64x2.add (local.get $fpx) (local.get $magicv)))
                  (local.set $my (f64x2.add (local.get $fpy) (local.get $magicv)))
                  (local.set $ia (i32.add (local.get $img) (i32.add
                    (i32.mul (i32x4.extract_lane 0 (local.get $my)) (local.get $w)) (i32x4.extract_lane 0 (local.get $mx)))))
                  (local.set $ib (i32.add (local.get $img) (i32.add
                    (i32.mul (i32x4.extract_lane 2 (local.get $my)) (local.get $w)) (i32x4.extract_lane 2 (local.get $mx)))))
                  (local.set $topv
                    (f64x2.add
                      (f64x2.mul (f64x2.convert_low_i32x4_s
                        (v128.load8_lane 4 (local.get $ib) (v128.load8_lane 0 (local.get $ia) (local.get $zerov)))) (local.get $gxv))
                      (f64x2.mul (f64x2.convert_low_i32x4_s
                        (v128.load8_lane offset=1 4 (local.get $ib) (v128.load8_lane offset=1 0 (local.get $ia) (local.get $zerov)))) (local.get $fxv))))
                  (local.set $ia (i32.add (local.get $ia) (local.get $w)))
                  (local.set $ib (i32.add (local.get $ib) (local.get $w)))
                  (local.set $bottomv
                    (f64x2.add
                      (f64x2.mul (f64x2.convert_low_i32x4_s
                        (v128.load8_lane 4 (local.get $ib) (v128.load8_lane 0 (local.get $ia) (local.get $zerov)))) (local.get $gxv))
                      (f64x2.mul (f64x2.convert_low_i32x4_s
                        (v128.load8_lane offset=1 4 (local.get $ib) (v128.load8_lane offset=1 0 (local.get $ia) (local.get $zerov)))) (local.get $fxv))))
                  (local.set $tv
                    (f64x2.add
                      (f64x2.mul (local.get $topv) (f64x2.sub (local.get $onev) (local.get $fyv)))
                      (f64x2.mul (local.get $bottomv) (local.get $fyv))))
                  (local.set $sum (f64.add (f64.add (local.get $sum) (f64x2.extract_lane 0 (local.get $tv)))
                    (f64x2.extract_lane 1 (local.get $tv))))
                  (local.set $sx (i32.add (local.get $sx) (i32.const 2)))
                  (br $pairs)))
              ;; An odd tap count's last tap.
              (if (i32.lt_u (local.get $sx) (local.get $samples))
                (then
                  (local.set $k (i32.shl (i32.add (i32.mul (local.get $x) (local.get $samples)) (local.get $sx)) (i32.const 3)))
                  (local.set $px (f64.sub (f64.sub (f64.load (i32.add (local.get $colA) (local.get $k))) (local.get $rb)) (f64.const 0.5)))
                  (local.set $py (f64.sub (f64.add (f64.load (i32.add (local.get $colB) (local.get $k))) (local.get $ra)) (f64.const 0.5)))
                  (local.set $x0 (i32.wrap_i64 (i64.reinterpret_f64 (f64.add (f64.floor (local.get $px)) (f64.const 0x1.8p+52)))))
                  (local.set $y0 (i32.wrap_i64 (i64.reinterpret_f64 (f64.add (f64.floor (local.get $py)) (f64.const 0x1.8p+52)))))
                  (local.set $fx (f64.sub (local.get $px) (f64.convert_i32_s (local.get $x0))))
                  (local.set $fy (f64.sub (local.get $py) (f64.convert_i32_s (local.get $y0))))
                  (local.set $gx (f64.sub (f64.const 1) (local.get $fx)))
                  (local.set $i00 (i32.add (local.get $img) (i32.add (i32.mul (local.get $y0) (local.get $w)) (local.get $x0))))
                  (local.set $top
                    (f64.add
                      (f64.mul (f64.convert_i32_u (i32.load8_u (local.get $i00))) (local.get $gx))
                      (f64.mul (f64.convert_i32_u (i32.load8_u offset=1 (local.get $i00))) (local.get $fx))))
                  (local.set $i00 (i32.add (local.get $i00) (local.get $w)))
                  (local.set $bottom
                    (f64.add
                      (f64.mul (f64.convert_i32_u (i32.load8_u (local.get $i00))) (local.get $gx))
                      (f64.mul (f64.convert_i32_u (i32.load8_u offset=1 (local.get $i00))) (local.get $fx))))
                  (local.set $sum (f64.add (local.get $sum)
                    (f64.add
                      (f64.mul (local.get $top) (f64.sub (f64.const 1) (local.get $fy)))
                      (f64.mul (local.get $bottom) (local.get $fy)))))
                ))
              (local.set $sy (i32.add (local.get $sy) (i32.const 1)))
              (br_if $tapRowsIn (i32.lt_u (local.get $sy) (local.get $samples)))))
          (else
            (loop $tapRowsOut
              (local.set $rb (f64.load (i32.add (local.get $rowB)
                (i32.shl (i32.add (i32.mul (local.get $y) (local.get $samples)) (local.get $sy)) (i32.const 3)))))
              (local.set $ra (f64.load (i32.add (local.get $rowA)
                (i32.shl (i32.add (i32.mul (local.get $y) (local.get $samples)) (local.get $sy)) (i32.const 3)))))
              (local.set $sx (i32.const 0))
              (loop $tapColsOut
                (local.set $k (i32.shl (i32.add (i32.mul (local.get $x) (local.get $samples)) (local.get $sx)) (i32.const 3)))
                (local.set $px (f64.sub (f64.sub (f64.load (i32.add (local.get $colA) (local.get $k))) (local.get $rb)) (f64.const 0.5)))
                (local.set $py (f64.sub (f64.add (f64.load (i32.add (local.get $colB) (local.get $k))) (local.get $ra)) (f64.const 0.5)))
                ;; px < 0 ? 0 : px > maxX ? maxX : px (a −0 stays −0, as in TypeScript).
                (local.set $px (select (f64.const 0)
                  (select (local.get $maxX) (local.get $px) (f64.gt (local.get $px) (local.get $maxX)))
                  (f64.lt (local.get $px) (f64.const 0))))
                (local.set $py (select (f64.const 0)
                  (select (local.get $maxY) (local.get $py) (f64.gt (local.get $py) (local.get $maxY)))
                  (f64.lt (local.get $py) (f64.const 0))))
                (local.set $x0 (i32.wrap_i64 (i64.reinterpret_f64 (f64.add (f64.floor (local.get $px)) (f64.const 0x1.8p+52)))))
                (local.set $y0 (i32.wrap_i64 (i64.reinterpret_f64 (f64.add (f64.floor (local.get $py)) (f64.const 0x1.8p+52)))))
                (local.set $fx (f64.sub (local.get $px) (f64.convert_i32_s (local.get $x0))))
                (local.set $fy (f64.sub (local.get $py) (f64.convert_i32_s (local.get $y0))))
                (local.set $i00 (i32.add (local.get $img) (i32.add (i32.mul (local.get $y0) (local.get $w)) (local.get $x0))))
                (local.set $dx (f64.lt (f64.convert_i32_s (local.get $x0)) (local.get $maxX)))
                (local.set $dy (select (local.get $w) (i32.const 0)
                  (f64.lt (f64.convert_i32_s (local.get $y0)) (local.get $maxY))))
                (local.set $gx (f64.sub (f64.const 1) (local.get $fx)))
                (local.set $top
                  (f64.add
                    (f64.mul (f64.convert_i32_u (i32.load8_u (local.get $i00))) (local.get $gx))
                    (f64.mul (f64.convert_i32_u (i32.load8_u (i32.add (local.get $i00) (local.get $dx)))) (local.get $fx))))
                (local.set $i00 (i32.add (local.get $i00) (local.get $dy)))
                (local.set $bottom
                  (f64.add
                    (f64.mul (f64.convert_i32_u (i32.load8_u (local.get $i00))) (local.get $gx))
                    (f64.mul (f64.convert_i32_u (i32.load8_u (i32.add (local.get $i00) (local.get $dx)))) (local.get $fx))))
                (local.set $sum (f64.add (local.get $sum)
                  (f64.add
                    (f64.mul (local.get $top) (f64.sub (f64.const 1) (local.get $fy)))
                    (f64.mul (local.get $bottom) (local.get $fy)))))
                (local.set $sx (i32.add (local.get $sx) (i32.const 1)))
                (br_if $tapColsOut (i32.lt_u (local.get $sx) (local.get $samples))))
              (local.set $sy (i32.add (local.get $sy) (i32.const 1)))
              (br_if $tapRowsOut (i32.lt_u (local.get $sy) (local.get $samples))))))
        ;; Math.round(v) for v >= 0: floor(v) + (v - floor(v) >= 0.5), written `channels` times.
        (local.set $rv (f64.div (local.get $sum) (local.get $taps)))
        (local.set $rf (f64.floor (local.get $rv)))
        (local.set $q (i32.add (i32.trunc_f64_s (local.get $rf))
          (f64.ge (f64.sub (local.get $rv) (local.get $rf)) (f64.const 0.5))))
        (local.set $at (i32.add (local.get $out)
          (i32.mul (i32.add (i32.mul (local.get $y) (local.get $width)) (local.get $x)) (local.get $channels))))
        (i32.store8 (local.get $at) (local.get $q))
        (if (i32.gt_u (local.get $channels) (i32.const 1))
          (then
            (local.set $c (i32.const 1))
            (loop $channel
              (i32.store8 (i32.add (local.get $at) (local.get $c)) (local.get $q))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br_if $channel (i32.lt_u (local.get $c) (local.get $channels))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $x) (local.get $width))))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $y) (local.get $height))))))
