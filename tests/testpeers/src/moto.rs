//! Calls to moto's EC2 query API, for tests that make the volumes and
//! instances the actions under test then work on.

/// One unsigned call (moto checks no signature, only that the credential
/// scope names the service and region); the answer's XML as text.
pub async fn ec2(url: &str, region: &str, params: &[(&str, &str)]) -> String {
    let mut form = vec![("Version", "2016-11-15")];
    form.extend_from_slice(params);
    reqwest::Client::new()
        .post(url)
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .form(&form)
        .send()
        .await
        .expect("moto answers")
        .text()
        .await
        .expect("moto's answer has a body")
}

/// The text of the first `<tag>` in `xml`.
pub fn first(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = xml[start..].find('<').map_or(xml.len(), |at| at + start);
    xml[start..end].to_owned()
}
