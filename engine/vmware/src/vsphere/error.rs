//! What can go wrong talking to a vCenter, and what a step does about it.

use shutter_core::ActionError;

use super::xml::Element;

/// A failure of a vSphere call, grouped by what the caller does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VsphereError {
    /// The server could not be reached or answered with a server error
    /// that is not a SOAP fault: trying again may help.
    #[error("{0}")]
    Unavailable(String),
    /// The server's certificate was refused: trying again will not help.
    #[error("{0}")]
    Tls(String),
    /// A vim25 fault, by its type name (`ManagedObjectNotFound`, ...).
    #[error("{message}")]
    Fault { kind: String, message: String },
    /// A VM, snapshot or datacenter that was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Bad parameters, an unreadable answer, anything that a retry cannot fix.
    #[error("{0}")]
    Invalid(String),
    /// The step was canceled while waiting.
    #[error("canceled")]
    Canceled,
}

/// Faults that describe a passing condition rather than a wrong request.
const TRANSIENT_FAULTS: &[&str] = &[
    "TaskInProgress",
    "HostCommunication",
    "HostNotConnected",
    "HostNotReachable",
    "Timedout",
    "ResourceInUse",
    "ConcurrentAccess",
];

impl VsphereError {
    pub fn is_fault(&self, name: &str) -> bool {
        matches!(self, Self::Fault { kind, .. } if kind == name)
    }

    /// What was asked for does not exist: a lookup found nothing, or
    /// vCenter answered `ManagedObjectNotFound`.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_)) || self.is_fault("ManagedObjectNotFound")
    }

    /// Prefixes the message with what was being done.
    #[must_use]
    pub fn context(self, what: &str) -> Self {
        match self {
            Self::Unavailable(m) => Self::Unavailable(format!("{what}: {m}")),
            Self::Tls(m) => Self::Tls(format!("{what}: {m}")),
            Self::Fault { kind, message } => Self::Fault {
                kind,
                message: format!("{what}: {message}"),
            },
            Self::NotFound(m) => Self::NotFound(format!("{what}: {m}")),
            Self::Invalid(m) => Self::Invalid(format!("{what}: {m}")),
            Self::Canceled => Self::Canceled,
        }
    }
}

impl From<VsphereError> for ActionError {
    fn from(err: VsphereError) -> Self {
        match err {
            VsphereError::Unavailable(m) => Self::retryable(m),
            VsphereError::Fault { ref kind, .. } if TRANSIENT_FAULTS.contains(&kind.as_str()) => {
                Self::retryable(err.to_string())
            }
            VsphereError::Canceled => Self::Canceled,
            other => Self::fatal(other.to_string()),
        }
    }
}

/// The fault a `LocalizedMethodFault` or a SOAP `detail` describes.
/// `fault` is the element whose `xsi:type` names the fault type;
/// `fallback` is the human message around it (`faultstring`,
/// `localizedMessage`).
pub fn fault_from(fault: Option<&Element>, fallback: &str) -> VsphereError {
    let kind = fault
        .and_then(|f| {
            f.xsi_type
                .clone()
                .or_else(|| f.name.strip_suffix("Fault").map(str::to_owned))
        })
        .unwrap_or_else(|| "SystemError".to_owned());
    let fallback = fallback.trim();
    let detail = fault.map(describe).unwrap_or_default();
    let message = match (fallback.is_empty(), detail.is_empty()) {
        (false, false) => format!("{kind}: {fallback} ({detail})"),
        (false, true) => format!("{kind}: {fallback}"),
        (true, false) => format!("{kind} ({detail})"),
        (true, true) => kind.clone(),
    };
    VsphereError::Fault { kind, message }
}

/// The useful fields of a fault, e.g. `obj VirtualMachine:vm-9`.
fn describe(fault: &Element) -> String {
    fault
        .children
        .iter()
        .filter(|c| c.children.is_empty() && !c.text.trim().is_empty())
        .map(|c| match c.attr("type") {
            Some(kind) => format!("{} {kind}:{}", c.name, c.text.trim()),
            None => format!("{} {}", c.name, c.text.trim()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
