;; {{name}}: a Shutter step as a WebAssembly component, written directly in
;; component text. `shutter step run {{name}}.wat` compiles it on the spot;
;; no build needed.
;;
;; It implements the world shutter:step/workflow-step (wit/step.wit in the
;; Shutter repository):
;;   export run(params: string) -> result<string, failure>
;; and imports only host.log of what the world offers (progress, secret and
;; http.request can be imported the same way). run(params) logs
;; "{{name}} started" and returns ok({"received":<params>}), <params> copied
;; byte for byte: the host always passes one JSON object.
;;
;; Layout (wasm32 canonical ABI), as wasm-steps/examples/wat/echo.component.wat:
;;   - "libc" core module: the linear memory, a bump cabi_realloc, and a
;;     post-return that frees everything (resets the bump pointer). It is
;;     instantiated first because lowering the string-taking import needs a
;;     memory that exists before the main module is instantiated.
;;   - the lowered host import: log takes (level, ptr, len).
;;   - "main" core module: run(ptr, len) -> retptr, where the return area
;;     holds result<string, failure>: tag @0 (u8, 0 = ok, 1 = err); ok:
;;     ptr @4, len @8; err: message ptr @4, len @8, retryable @12 (u8).
(component
  ;; ---- import shutter:step/host@0.1.0 (only log) -------------------------
  (type $host-type (instance
    (type $level-def (enum "debug" "info" "warn" "error"))
    (export "level" (type $level (eq $level-def)))
    (type $log-type (func (param "level" $level) (param "message" string)))
    (export "log" (func (type $log-type)))
  ))
  (import "shutter:step/host@0.1.0" (instance $host (type $host-type)))
  (alias export $host "log" (func $log))

  ;; ---- memory and allocator ----------------------------------------------
  (core module $Libc
    (memory (export "memory") 1)
    ;; bytes below 1024 belong to the main module's static data
    (global $bump (mut i32) (i32.const 1024))
    (func (export "cabi_realloc")
      (param $old i32) (param $old-size i32) (param $align i32) (param $new-size i32)
      (result i32)
      (local $ptr i32) (local $end i32) (local $pages i32)
      ;; ptr = align_up(bump, align)
      (local.set $ptr
        (i32.and
          (i32.sub (i32.add (global.get $bump) (local.get $align)) (i32.const 1))
          (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $ptr) (local.get $new-size)))
      ;; wrapped around the 32-bit address space: out of memory
      (if (i32.lt_u (local.get $end) (local.get $ptr)) (then unreachable))
      ;; grow the memory to ceil(end / 64 KiB) pages when needed
      (local.set $pages
        (i32.shr_u (i32.add (local.get $end) (i32.const 0xffff)) (i32.const 16)))
      (if (i32.gt_u (local.get $pages) (memory.size))
        (then
          (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size)))
                      (i32.const -1))
            (then unreachable))))
      (global.set $bump (local.get $end))
      ;; realloc of an existing block: move its bytes
      (if (local.get $old)
        (then
          (memory.copy (local.get $ptr) (local.get $old)
            (select (local.get $old-size) (local.get $new-size)
              (i32.lt_u (local.get $old-size) (local.get $new-size))))))
      (local.get $ptr))
    ;; post-return of run: the host has copied the result, free everything
    (func (export "cabi_post_run") (param i32)
      (global.set $bump (i32.const 1024)))
  )
  (core instance $libc (instantiate $Libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "cabi_realloc" (core func $realloc))

  ;; ---- lowered host function ---------------------------------------------
  (core func $log-lowered
    (canon lower (func $log) (memory $mem) string-encoding=utf8))

  ;; ---- the step itself ---------------------------------------------------
  (core module $Main
    (import "libc" "memory" (memory 1))
    (import "libc" "cabi_realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "host" "log" (func $log (param i32 i32 i32)))
    (data (i32.const 16) "{\"received\":")   ;; 12 bytes
    (data (i32.const 32) "}")                 ;; 1
    ;; 48..64: return area of run (result<string, failure>)
    (data (i32.const 64) "{{name}} started")  ;; {{started_len}} bytes
    (func (export "run") (param $params i32) (param $len i32) (result i32)
      (local $total i32) (local $out i32)
      (call $log (i32.const 1) (i32.const 64) (i32.const {{started_len}}))   ;; level::info
      ;; out = {"received": + params + }
      (local.set $total (i32.add (local.get $len) (i32.const 13)))
      (local.set $out
        (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $total)))
      (memory.copy (local.get $out) (i32.const 16) (i32.const 12))
      (memory.copy (i32.add (local.get $out) (i32.const 12)) (local.get $params) (local.get $len))
      (memory.copy (i32.add (i32.add (local.get $out) (i32.const 12)) (local.get $len))
                   (i32.const 32) (i32.const 1))
      ;; ok(out)
      (i32.store8 (i32.const 48) (i32.const 0))
      (i32.store (i32.const 52) (local.get $out))
      (i32.store (i32.const 56) (local.get $total))
      (i32.const 48))
  )
  (core instance $main (instantiate $Main
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "log" (func $log-lowered))))))

  ;; ---- export shutter:step/step@0.1.0 ------------------------------------
  (type $failure (record (field "message" string) (field "retryable" bool)))
  (func $run (param "params" string) (result (result string (error $failure)))
    (canon lift (core func $main "run") (memory $mem) (realloc $realloc)
      string-encoding=utf8 (post-return (core func $libc "cabi_post_run"))))
  (instance $step
    (export "failure" (type $failure))
    (export "run" (func $run)))
  (export "shutter:step/step@0.1.0" (instance $step))
)
