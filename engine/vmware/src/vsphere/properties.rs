//! Reading properties with the property collector (`RetrievePropertiesEx`),
//! for one object or for every object of a type below a container.

use super::client::Client;
use super::error::VsphereError;
use super::moref::MoRef;
use super::request::{Fragment, Request};
use super::xml::Element;

/// An object and the properties that were read from it (unset ones are
/// simply absent, as vim25 leaves them out).
#[derive(Debug, Clone)]
pub struct ObjectContent {
    pub obj: MoRef,
    props: Vec<(String, Element)>,
}

impl ObjectContent {
    /// The `val` element of a property.
    pub fn get(&self, path: &str) -> Option<&Element> {
        self.props
            .iter()
            .find(|(name, _)| name == path)
            .map(|(_, v)| v)
    }

    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).map(|v| v.text.trim())
    }

    pub fn bool(&self, path: &str) -> Option<bool> {
        self.text(path).map(|t| t == "true")
    }

    pub fn moref(&self, path: &str) -> Option<MoRef> {
        self.get(path).and_then(MoRef::from_element)
    }
}

/// `paths` of one object. A missing object is `ManagedObjectNotFound`.
pub async fn retrieve(
    client: &Client,
    obj: &MoRef,
    paths: &[&str],
) -> Result<ObjectContent, VsphereError> {
    let object_set = Fragment::open("objectSet", None)
        .moref("obj", obj)
        .close("objectSet");
    let mut found = collect(client, obj.kind.as_str(), paths, object_set).await?;
    match found.pop() {
        Some(content) => Ok(content),
        None => Err(VsphereError::Fault {
            kind: "ManagedObjectNotFound".to_owned(),
            message: format!(
                "ManagedObjectNotFound: {obj} does not exist on vcenter {}",
                client.vcenter()
            ),
        }),
    }
}

/// `paths` of every object of type `kind` below `container` (recursively),
/// through a container view that is destroyed afterwards.
pub async fn retrieve_all(
    client: &Client,
    container: &MoRef,
    kind: &'static str,
    paths: &[&str],
) -> Result<Vec<ObjectContent>, VsphereError> {
    let create = Request::new("CreateContainerView", &client.service().view_manager)
        .moref("container", container)
        .text("type", kind)
        .bool("recursive", true);
    let view = client
        .call(&create)
        .await?
        .child("returnval")
        .and_then(MoRef::from_element)
        .ok_or_else(|| VsphereError::Invalid("CreateContainerView returned no view".to_owned()))?;
    let traversal = Fragment::open("selectSet", Some("TraversalSpec"))
        .text("type", "ContainerView")
        .text("path", "view")
        .bool("skip", false)
        .close("selectSet");
    let object_set = Fragment::open("objectSet", None)
        .moref("obj", &view)
        .bool("skip", true)
        .nest(traversal)
        .close("objectSet");
    let result = collect(client, kind, paths, object_set).await;
    // Views live until the session ends; drop ours now. Failing to is harmless.
    let _ = client.call(&Request::new("DestroyView", &view)).await;
    result
}

async fn collect(
    client: &Client,
    kind: &str,
    paths: &[&str],
    object_set: Fragment,
) -> Result<Vec<ObjectContent>, VsphereError> {
    let mut prop_set = Fragment::open("propSet", None).text("type", kind);
    for path in paths {
        prop_set = prop_set.text("pathSet", path);
    }
    let spec = Fragment::open("specSet", None)
        .nest(prop_set.close("propSet"))
        .nest(object_set)
        .close("specSet");
    let collector = &client.service().property_collector;
    let request = Request::new("RetrievePropertiesEx", collector)
        .fragment(&spec)
        .fragment(&Fragment::open("options", None).close("options"));
    let mut objects = Vec::new();
    let mut answer = client.call(&request).await?;
    loop {
        let Some(result) = answer.child("returnval") else {
            return Ok(objects);
        };
        objects.extend(result.children_named("objects").filter_map(object_content));
        let Some(token) = result.text_of("token").filter(|t| !t.is_empty()) else {
            return Ok(objects);
        };
        let next = Request::new("ContinueRetrievePropertiesEx", collector).text("token", token);
        answer = client.call(&next).await?;
    }
}

fn object_content(element: &Element) -> Option<ObjectContent> {
    let obj = MoRef::from_element(element.child("obj")?)?;
    let props = element
        .children_named("propSet")
        .filter_map(|p| Some((p.text_of("name")?.to_owned(), p.child("val")?.clone())))
        .collect();
    Some(ObjectContent { obj, props })
}
