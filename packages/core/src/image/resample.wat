;; The per-pixel loops of `resampleRegion` (gray-image.ts: area averaging, the detector's scaled
;; copies and the box crop) in WebAssembly: the same float operations in the same order as the
;; TypeScript they replaced, so every byte is the same (gray-image.test.ts pins a digest of seeded
;; resamples to what the TypeScript gave). gray-image.ts computes the taps (per output column and
;; row: the first tap, each tap's source index and weight, each output's total weight) and copies
;; the image rows the taps reach into this memory. Build: `npm run build:wasm`.
(module
  (memory (export "memory") 1)

  ;; Tables: cFirst (outWidth + 1 i32), cIndex (i32), cWeight (f64), cTotal (outWidth f64); rFirst
  ;; (outHeight + 1 i32), rIndex (i32), rWeight (f64), rTotal (outHeight f64). `across`:
  ;; (maxRow − minRow + 1)·outWidth f64 of scratch; `sums`: outWidth f64 of scratch.
  (func (export "resample")
    (param $img i32) (param $w i32)
    (param $cFirst i32) (param $cIndex i32) (param $cWeight i32) (param $cTotal i32) (param $outWidth i32)
    (param $rFirst i32) (param $rIndex i32) (param $rWeight i32) (param $rTotal i32) (param $outHeight i32)
    (param $minRow i32) (param $maxRow i32) (param $across i32) (param $sums i32) (param $out i32)
    (local $r i32) (local $row i32) (local $dst i32) (local $ox i32) (local $k i32) (local $end i32)
    (local $sum f64) (local $oy i32) (local $src i32) (local $wt f64) (local $x8 i32)
    (local $v f64) (local $f f64) (local $q i32)
    ;; Across: each source row's weighted sum over every output column's taps.
    (local.set $r (local.get $minRow))
    (local.set $dst (local.get $across))
    (loop $rows
      (local.set $row (i32.add (local.get $img) (i32.mul (local.get $r) (local.get $w))))
      (local.set $ox (i32.const 0))
      (loop $cols
        (local.set $sum (f64.const 0))
        (local.set $k (i32.load (i32.add (local.get $cFirst) (i32.shl (local.get $ox) (i32.const 2)))))
        (local.set $end (i32.load offset=4 (i32.add (local.get $cFirst) (i32.shl (local.get $ox) (i32.const 2)))))
        (block $done
          (loop $taps
            (br_if $done (i32.ge_s (local.get $k) (local.get $end)))
            (local.set $sum (f64.add (local.get $sum)
              (f64.mul
                (f64.convert_i32_u (i32.load8_u (i32.add (local.get $row)
                  (i32.load (i32.add (local.get $cIndex) (i32.shl (local.get $k) (i32.const 2)))))))
                (f64.load (i32.add (local.get $cWeight) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $taps)))
        (f64.store (local.get $dst) (local.get $sum))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $ox) (local.get $outWidth))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows (i32.le_s (local.get $r) (local.get $maxRow))))
    ;; Down: per output row, its taps in order, each over the whole row into `sums` (from 0, as the
    ;; TypeScript summed each pixel), then each pixel's mean, rounded and clamped to a byte.
    (local.set $oy (i32.const 0))
    (loop $outRows
      (local.set $ox (i32.const 0))
      (loop $zero
        (f64.store (i32.add (local.get $sums) (i32.shl (local.get $ox) (i32.const 3))) (f64.const 0))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br_if $zero (i32.lt_u (local.get $ox) (local.get $outWidth))))
      (local.set $k (i32.load (i32.add (local.get $rFirst) (i32.shl (local.get $oy) (i32.const 2)))))
      (local.set $end (i32.load offset=4 (i32.add (local.get $rFirst) (i32.shl (local.get $oy) (i32.const 2)))))
      (block $done
        (loop $taps
          (br_if $done (i32.ge_s (local.get $k) (local.get $end)))
          (local.set $src (i32.add (local.get $across) (i32.shl (i32.mul
            (i32.sub (i32.load (i32.add (local.get $rIndex) (i32.shl (local.get $k) (i32.const 2)))) (local.get $minRow))
            (local.get $outWidth)) (i32.const 3))))
          (local.set $wt (f64.load (i32.add (local.get $rWeight) (i32.shl (local.get $k) (i32.const 3)))))
          (local.set $x8 (i32.const 0))
          (loop $xs
            (f64.store (i32.add (local.get $sums) (local.get $x8))
              (f64.add (f64.load (i32.add (local.get $sums) (local.get $x8)))
                (f64.mul (f64.load (i32.add (local.get $src) (local.get $x8))) (local.get $wt))))
            (local.set $x8 (i32.add (local.get $x8) (i32.const 8)))
            (br_if $xs (i32.lt_u (local.get $x8) (i32.shl (local.get $outWidth) (i32.const 3)))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $taps)))
      (local.set $ox (i32.const 0))
      (loop $put
        ;; Math.min(255, Math.max(0, Math.round(sum / (rTotal[oy] · cTotal[ox])))); the sum is ≥ 0,
        ;; and Math.round(v) = floor(v) + (v − floor(v) ≥ 0.5) there.
        (local.set $v (f64.div
          (f64.load (i32.add (local.get $sums) (i32.shl (local.get $ox) (i32.const 3))))
          (f64.mul
            (f64.load (i32.add (local.get $rTotal) (i32.shl (local.get $oy) (i32.const 3))))
            (f64.load (i32.add (local.get $cTotal) (i32.shl (local.get $ox) (i32.const 3)))))))
        (local.set $f (f64.floor (local.get $v)))
        (local.set $f (f64.add (local.get $f)
          (f64.convert_i32_u (f64.ge (f64.sub (local.get $v) (local.get $f)) (f64.const 0.5)))))
        (local.set $f (f64.min (f64.const 255) (f64.max (f64.const 0) (local.get $f))))
        (i32.store8
          (i32.add (local.get $out) (i32.add (i32.mul (local.get $oy) (local.get $outWidth)) (local.get $ox)))
          (i32.trunc_f64_u (local.get $f)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br_if $put (i32.lt_u (local.get $ox) (local.get $outWidth))))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br_if $outRows (i32.lt_u (local.get $oy) (local.get $outHeight))))))
