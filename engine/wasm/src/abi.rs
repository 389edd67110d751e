//! Telling the two ABIs apart by the binary's preamble.
//!
//! Both start with `\0asm`; the next four bytes are the version and layer:
//! `01 00 00 00` for a core module (a WASI command), `0d 00 01 00` for a
//! component (the `shutter:step` world).

/// Which contract a module follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// A WASI preview1 command: JSON on stdin, JSON on stdout.
    Command,
    /// A component of the `shutter:step/workflow-step` world.
    Component,
}

pub fn detect(bytes: &[u8]) -> Result<Abi, String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("not a WebAssembly binary (no `\\0asm` preamble)".to_owned());
    }
    match (bytes[6], bytes[7]) {
        (0, 0) => Ok(Abi::Command),
        (1, 0) => Ok(Abi::Component),
        (layer, _) => Err(format!("unknown WebAssembly binary layer {layer}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_modules_from_components() {
        assert_eq!(detect(b"\0asm\x01\0\0\0rest"), Ok(Abi::Command));
        assert_eq!(detect(b"\0asm\x0d\0\x01\0rest"), Ok(Abi::Component));
        assert!(detect(b"\x7fELF....").is_err());
        assert!(detect(b"\0as").is_err());
    }
}
