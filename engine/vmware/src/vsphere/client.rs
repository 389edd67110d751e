//! A logged-in vim25 session: sends requests, turns faults into
//! [`VsphereError`]s, and logs in again once when the session has expired.

use std::sync::{Arc, RwLock};

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};

use super::connection::ConnectionConfig;
use super::error::{VsphereError, fault_from};
use super::moref::MoRef;
use super::request::Request;
use super::xml::{self, Element};

/// The cookie vCenter keeps a SOAP session in.
const SESSION_COOKIE: &str = "vmware_soap_session";
/// The API version we speak: every vCenter from 6.5 on understands it.
const SOAP_ACTION: &str = "urn:vim25/6.5";
/// Largest answer read, so a broken server cannot exhaust memory.
const MAX_ANSWER: usize = 64 << 20;

/// What `RetrieveServiceContent` says about a vCenter: who it is and where
/// its managers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceContent {
    /// `about.instanceUuid`: stable per vCenter, the key that keeps records
    /// of several vCenters apart (moRefs repeat across vCenters).
    pub instance_uuid: String,
    pub api_version: String,
    pub full_name: String,
    pub root_folder: MoRef,
    pub property_collector: MoRef,
    pub view_manager: MoRef,
    pub search_index: MoRef,
    pub session_manager: MoRef,
    /// Where tasks are listed and made; not every endpoint has one.
    pub task_manager: Option<MoRef>,
}

/// A session on one vCenter. Cheap to clone; clones share the session.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ConnectionConfig,
    http: reqwest::Client,
    service: ServiceContent,
    cookie: RwLock<Option<String>>,
    /// Serializes logins, so an expired session is replaced once.
    login: tokio::sync::Mutex<()>,
}

impl Client {
    /// Reads the service content and logs in.
    pub async fn connect(config: ConnectionConfig) -> Result<Self, VsphereError> {
        let http = config.trust.client().map_err(VsphereError::Invalid)?;
        let root = MoRef::new("ServiceInstance", "ServiceInstance");
        let answer = send(
            &http,
            &config,
            &Request::new("RetrieveServiceContent", &root),
            None,
        )
        .await?;
        let service = service_content(&answer)
            .map_err(|m| VsphereError::Invalid(format!("{}: {m}", config.url)))?;
        let client = Self {
            inner: Arc::new(Inner {
                config,
                http,
                service,
                cookie: RwLock::new(None),
                login: tokio::sync::Mutex::new(()),
            }),
        };
        client.login(None).await?;
        Ok(client)
    }

    pub fn config(&self) -> &ConnectionConfig {
        &self.inner.config
    }

    pub fn service(&self) -> &ServiceContent {
        &self.inner.service
    }

    /// The vCenter's instanceUuid.
    pub fn vcenter(&self) -> &str {
        &self.inner.service.instance_uuid
    }

    /// The session cookie (`vmware_soap_session=...`), for a download from
    /// the datastore HTTP interface in the same session. Secret: never log it.
    pub fn session_cookie(&self) -> Option<String> {
        self.inner
            .cookie
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Calls a method; the response element (`<MethodResponse>`) on success.
    /// An expired session (`NotAuthenticated`) is replaced once and the call
    /// sent again.
    pub async fn call(&self, request: &Request) -> Result<Element, VsphereError> {
        let cookie = self.session_cookie();
        match send(
            &self.inner.http,
            &self.inner.config,
            request,
            cookie.as_deref(),
        )
        .await
        {
            Err(err) if err.is_fault("NotAuthenticated") => {
                self.login(cookie).await?;
                let fresh = self.session_cookie();
                send(
                    &self.inner.http,
                    &self.inner.config,
                    request,
                    fresh.as_deref(),
                )
                .await
            }
            other => other,
        }
    }

    /// Ends the session on the server.
    pub async fn logout(&self) -> Result<(), VsphereError> {
        let cookie = self.session_cookie();
        let request = Request::new("Logout", &self.inner.service.session_manager);
        send(
            &self.inner.http,
            &self.inner.config,
            &request,
            cookie.as_deref(),
        )
        .await?;
        *self.cookie_mut() = None;
        Ok(())
    }

    /// Logs in unless another call already replaced the session `stale`.
    async fn login(&self, stale: Option<String>) -> Result<(), VsphereError> {
        let _guard = self.inner.login.lock().await;
        let current = self.session_cookie();
        if current.is_some() && current != stale {
            return Ok(());
        }
        let config = &self.inner.config;
        let request = Request::new("Login", &self.inner.service.session_manager)
            .text("userName", &config.username)
            .text("password", config.password());
        let response = self
            .inner
            .http
            .post(config.url.clone())
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("SOAPAction", SOAP_ACTION)
            .body(request.envelope())
            .send()
            .await
            .map_err(|e| transport_error(config, e))?;
        let cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .find(|pair| pair.trim_start().starts_with(SESSION_COOKIE))
            .map(|pair| pair.trim().to_owned());
        answer(config, response).await.map_err(|err| match err {
            VsphereError::Fault { kind, .. } if kind == "InvalidLogin" => {
                VsphereError::Invalid(format!(
                    "{}: login as `{}` refused (InvalidLogin): wrong username or password",
                    config.url, config.username
                ))
            }
            other => other.context(&format!("login to {}", config.url)),
        })?;
        let cookie = cookie.ok_or_else(|| {
            VsphereError::Invalid(format!(
                "{}: login answered without a {SESSION_COOKIE} cookie",
                config.url
            ))
        })?;
        *self.cookie_mut() = Some(cookie);
        Ok(())
    }

    fn cookie_mut(&self) -> std::sync::RwLockWriteGuard<'_, Option<String>> {
        self.inner
            .cookie
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn send(
    http: &reqwest::Client,
    config: &ConnectionConfig,
    request: &Request,
    cookie: Option<&str>,
) -> Result<Element, VsphereError> {
    let mut builder = http
        .post(config.url.clone())
        .header(CONTENT_TYPE, "text/xml; charset=utf-8")
        .header("SOAPAction", SOAP_ACTION)
        .body(request.envelope());
    if let Some(cookie) = cookie {
        builder = builder.header(COOKIE, cookie);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| transport_error(config, e))?;
    answer(config, response)
        .await
        .map_err(|e| e.context(&format!("{} on {}", request.method(), config.url)))
}

/// The response element of an answer, or the fault it carries.
async fn answer(
    config: &ConnectionConfig,
    mut response: reqwest::Response,
) -> Result<Element, VsphereError> {
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(config, e))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(VsphereError::Invalid(format!(
                "answer larger than {MAX_ANSWER} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&body);
    let parsed = xml::parse(&text);
    let soap_body = parsed.as_ref().ok().and_then(|root| root.child("Body"));
    if let Some(fault) = soap_body.and_then(|b| b.child("Fault")) {
        let detail = fault.child("detail").and_then(|d| d.children.first());
        return Err(fault_from(
            detail,
            fault.text_of("faultstring").unwrap_or_default(),
        ));
    }
    if shutter_kit::retryable_status(status) {
        return Err(VsphereError::Unavailable(format!(
            "http {status}: {}",
            excerpt(&text)
        )));
    }
    if !status.is_success() {
        return Err(VsphereError::Invalid(format!(
            "http {status} (is {} a vSphere SDK endpoint?): {}",
            config.url,
            excerpt(&text)
        )));
    }
    let response = soap_body
        .and_then(|b| b.children.first())
        .cloned()
        .ok_or_else(|| match parsed {
            Err(e) => VsphereError::Invalid(format!("unreadable answer: {e}")),
            Ok(_) => VsphereError::Invalid("answer without a SOAP body".to_owned()),
        })?;
    // The property collector reports an expired session per object
    // (`missingSet`) instead of as a fault; make it one, so the caller
    // logs in again.
    if let Some(fault) = response
        .find("missingSet")
        .and_then(|m| m.path(&["fault", "fault"]))
        .filter(|f| f.xsi_type.as_deref() == Some("NotAuthenticated"))
    {
        return Err(fault_from(Some(fault), "session is not authenticated"));
    }
    Ok(response)
}

fn transport_error(config: &ConnectionConfig, err: reqwest::Error) -> VsphereError {
    // The kit classifies (an untrusted certificate is fatal); the message
    // keeps vCenter's hint.
    let untrusted = shutter_kit::is_untrusted_certificate(&err);
    let classified = shutter_kit::transport(config.url.as_str(), err);
    let report = classified.report();
    if untrusted {
        VsphereError::Tls(format!(
            "tls: the certificate of {} is not trusted ({report}); add its CA with `ca_file`, or set `insecure: true` only for a test server such as vcsim",
            config.url
        ))
    } else if classified.is_retryable() {
        VsphereError::Unavailable(report)
    } else {
        VsphereError::Invalid(report)
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}

fn service_content(response: &Element) -> Result<ServiceContent, String> {
    let content = response
        .child("returnval")
        .ok_or("no returnval in RetrieveServiceContent")?;
    let moref = |name: &str| {
        content
            .child(name)
            .and_then(MoRef::from_element)
            .ok_or_else(|| format!("service content without {name}"))
    };
    let about = content
        .child("about")
        .ok_or("service content without about")?;
    Ok(ServiceContent {
        instance_uuid: about
            .text_of("instanceUuid")
            .filter(|u| !u.is_empty())
            // A standalone ESXi host has no instanceUuid: its uuid is
            // not unique enough to keep records apart, so refuse it.
            .ok_or("about.instanceUuid is missing (is this an ESXi host? connect to its vCenter)")?
            .to_owned(),
        api_version: about.text_of("apiVersion").unwrap_or_default().to_owned(),
        full_name: about.text_of("fullName").unwrap_or_default().to_owned(),
        root_folder: moref("rootFolder")?,
        property_collector: moref("propertyCollector")?,
        view_manager: moref("viewManager")?,
        search_index: moref("searchIndex")?,
        session_manager: moref("sessionManager")?,
        task_manager: content.child("taskManager").and_then(MoRef::from_element),
    })
}
