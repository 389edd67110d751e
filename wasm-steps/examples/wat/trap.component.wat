;; trap: a hand-written component of the world shutter:step/workflow-step
;; whose run(params) executes `unreachable`, so every call traps.
;;
;; It imports shutter:step/host (the whole world) but calls nothing from it.
;; run still needs a memory and a cabi_realloc: lifting a string parameter
;; makes the host allocate and copy params into the guest before the call.
(component
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

  (core module $Main
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    ;; bump allocator (the same as echo's): params land here before the trap
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
    (func (export "run") (param $params i32) (param $len i32) (result i32)
      unreachable)
  )
  (core instance $main (instantiate $Main))

  (type $failure (record (field "message" string) (field "retryable" bool)))
  (func $run (param "params" string) (result (result string (error $failure)))
    (canon lift (core func $main "run")
      (memory (core memory $main "memory"))
      (realloc (core func $main "cabi_realloc"))
      string-encoding=utf8))
  (instance $step
    (export "failure" (type $failure))
    (export "run" (func $run)))
  (export "shutter:step/step@0.1.0" (instance $step))
)
