;; fetch: a hand-written component that makes one HTTP request through the
;; host's `shutter:step/http` import.
;;
;; run(params) passes params unchanged as the request JSON ({method, url,
;; headers, body}) and returns the response JSON ({status, headers, body})
;; as its outputs; when the host gives no response (a host not granted, a
;; refused connection...), run fails with the host's message, not retryable.
;;
;; Layout (wasm32 canonical ABI), as in echo.component.wat:
;;   - "libc": memory, a bump cabi_realloc, a post-return that frees all.
;;   - request(string) -> result<string, string> lowers to (ptr, len,
;;     retptr); the host writes tag @0 (u8), ptr @4, len @8 at retptr,
;;     allocating the string in our memory through cabi_realloc.
;;   - run(ptr, len) -> retptr: result<string, failure> with tag @0; ok:
;;     ptr @4, len @8; error: failure {message ptr @4, len @8, retryable @12}.
(component
  ;; ---- import shutter:step/http@0.1.0 -------------------------------------
  (type $http-type (instance
    (type $answer (result string (error string)))
    (type $request-type (func (param "request" string) (result $answer)))
    (export "request" (func (type $request-type)))
  ))
  (import "shutter:step/http@0.1.0" (instance $http (type $http-type)))
  (alias export $http "request" (func $request))

  ;; ---- memory and allocator ----------------------------------------------
  (core module $Libc
    (memory (export "memory") 1)
    ;; bytes below 1024 belong to the main module's static data
    (global $bump (mut i32) (i32.const 1024))
    (func (export "cabi_realloc")
      (param $old i32) (param $old-size i32) (param $align i32) (param $new-size i32)
      (result i32)
      (local $ptr i32) (local $end i32) (local $pages i32)
      (local.set $ptr
        (i32.and
          (i32.sub (i32.add (global.get $bump) (local.get $align)) (i32.const 1))
          (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $ptr) (local.get $new-size)))
      (if (i32.lt_u (local.get $end) (local.get $ptr)) (then unreachable))
      (local.set $pages
        (i32.shr_u (i32.add (local.get $end) (i32.const 0xffff)) (i32.const 16)))
      (if (i32.gt_u (local.get $pages) (memory.size))
        (then
          (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size)))
                      (i32.const -1))
            (then unreachable))))
      (global.set $bump (local.get $end))
      (if (local.get $old)
        (then
          (memory.copy (local.get $ptr) (local.get $old)
            (select (local.get $old-size) (local.get $new-size)
              (i32.lt_u (local.get $old-size) (local.get $new-size))))))
      (local.get $ptr))
    (func (export "cabi_post_run") (param i32)
      (global.set $bump (i32.const 1024)))
  )
  (core instance $libc (instantiate $Libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "cabi_realloc" (core func $realloc))

  ;; ---- lowered host function ---------------------------------------------
  (core func $request-lowered
    (canon lower (func $request) (memory $mem) (realloc $realloc) string-encoding=utf8))

  ;; ---- the step itself ---------------------------------------------------
  (core module $Main
    (import "libc" "memory" (memory 1))
    (import "http" "request" (func $request (param i32 i32 i32)))
    ;; 128..140: return area of request (result<string, string>)
    ;; 144..160: return area of run (result<string, failure>)
    (func (export "run") (param $params i32) (param $len i32) (result i32)
      (call $request (local.get $params) (local.get $len) (i32.const 128))
      ;; both cases carry (ptr @4, len @8): copy them, keep the tag
      (i32.store8 (i32.const 144) (i32.load8_u (i32.const 128)))
      (i32.store (i32.const 148) (i32.load (i32.const 132)))
      (i32.store (i32.const 152) (i32.load (i32.const 136)))
      ;; error: failure.retryable = false
      (i32.store8 (i32.const 156) (i32.const 0))
      (i32.const 144))
  )
  (core instance $main (instantiate $Main
    (with "libc" (instance $libc))
    (with "http" (instance (export "request" (func $request-lowered))))))

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
