;; echo: a hand-written component of the world shutter:step/workflow-step.
;;
;; run(params) calls log(info, "echo called"), progress(50, "halfway") and
;; secret("token"), then returns ok({"echo":<params>,"has_token":true|false})
;; with <params> copied byte for byte and has_token = (secret returned some).
;;
;; Layout (wasm32 canonical ABI):
;;   - "libc" core module: the linear memory, a bump cabi_realloc, and a
;;     post-return that frees everything (resets the bump pointer). It is
;;     instantiated first because lowering the string-taking imports needs a
;;     memory that exists before the main module is instantiated.
;;   - the lowered host imports: log/progress take (i32, ptr, len); secret
;;     returns option<string> (3 flat values > 1), so its lowering takes
;;     (ptr, len, retptr) and writes tag @0 (u8), ptr @4, len @8 at retptr,
;;     allocating the string in our memory through cabi_realloc.
;;   - "main" core module: run(ptr, len) -> retptr, where the return area
;;     holds result<string, failure>: tag @0 (u8); ok: ptr @4, len @8.
(component
  ;; ---- import shutter:step/host@0.1.0 -------------------------------------
  (type $host-type (instance
    (type $level-def (enum "debug" "info" "warn" "error"))
    (export "level" (type $level (eq $level-def)))
    (type $log-type (func (param "level" $level) (param "message" string)))
    (export "log" (func (type $log-type)))
    (type $progress-type (func (param "percent" u8) (param "message" string)))
    (export "progress" (func (type $progress-type)))
    (type $opt-string (option string))
    (type $secret-type (func (param "name" string) (result $opt-string)))
    (export "secret" (func (type $secret-type)))
  ))
  (import "shutter:step/host@0.1.0" (instance $host (type $host-type)))
  (alias export $host "log" (func $log))
  (alias export $host "progress" (func $progress))
  (alias export $host "secret" (func $secret))

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

  ;; ---- lowered host functions --------------------------------------------
  (core func $log-lowered
    (canon lower (func $log) (memory $mem) string-encoding=utf8))
  (core func $progress-lowered
    (canon lower (func $progress) (memory $mem) string-encoding=utf8))
  (core func $secret-lowered
    (canon lower (func $secret) (memory $mem) (realloc $realloc) string-encoding=utf8))

  ;; ---- the step itself ---------------------------------------------------
  (core module $Main
    (import "libc" "memory" (memory 1))
    (import "libc" "cabi_realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "host" "log" (func $log (param i32 i32 i32)))
    (import "host" "progress" (func $progress (param i32 i32 i32)))
    (import "host" "secret" (func $secret (param i32 i32 i32)))
    (data (i32.const 16) "echo called")      ;; 11 bytes
    (data (i32.const 32) "halfway")          ;; 7
    (data (i32.const 48) "token")            ;; 5
    (data (i32.const 64) "{\"echo\":")       ;; 8
    (data (i32.const 80) ",\"has_token\":")  ;; 13
    (data (i32.const 96) "true}")            ;; 5
    (data (i32.const 112) "false}")          ;; 6
    ;; 128..140: return area of secret (option<string>)
    ;; 144..160: return area of run (result<string, failure>)
    (func (export "run") (param $params i32) (param $len i32) (result i32)
      (local $has i32) (local $total i32) (local $out i32) (local $at i32)
      (call $log (i32.const 1) (i32.const 16) (i32.const 11))   ;; level::info
      (call $progress (i32.const 50) (i32.const 32) (i32.const 7))
      (call $secret (i32.const 48) (i32.const 5) (i32.const 128))
      (local.set $has (i32.load8_u (i32.const 128)))            ;; 1 = some
      ;; 8 + len + 13 + (5 | 6)
      (local.set $total
        (i32.add (i32.add (local.get $len) (i32.const 21))
                 (select (i32.const 5) (i32.const 6) (local.get $has))))
      (local.set $out
        (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $total)))
      (memory.copy (local.get $out) (i32.const 64) (i32.const 8))
      (local.set $at (i32.add (local.get $out) (i32.const 8)))
      (memory.copy (local.get $at) (local.get $params) (local.get $len))
      (local.set $at (i32.add (local.get $at) (local.get $len)))
      (memory.copy (local.get $at) (i32.const 80) (i32.const 13))
      (local.set $at (i32.add (local.get $at) (i32.const 13)))
      (if (local.get $has)
        (then (memory.copy (local.get $at) (i32.const 96) (i32.const 5)))
        (else (memory.copy (local.get $at) (i32.const 112) (i32.const 6))))
      ;; ok(out)
      (i32.store8 (i32.const 144) (i32.const 0))
      (i32.store (i32.const 148) (local.get $out))
      (i32.store (i32.const 152) (local.get $total))
      (i32.const 144))
  )
  (core instance $main (instantiate $Main
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "log" (func $log-lowered))
      (export "progress" (func $progress-lowered))
      (export "secret" (func $secret-lowered))))))

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
