use imagescope_core::digest::Digest;
use imagescope_core::manifest::Descriptor;
use imagescope_core::status::Image;
use imagescope_web::components::{
    CorsDiagnosisView, ErrorView, LayerTable, ReferencePreview, StatusCard,
};
use imagescope_web::cors::{CorsCause, CorsDiagnosis};
use imagescope_web::state::Failure;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::Element;
use yew::prelude::*;

/// Renders a component into a fresh element and waits for Yew to finish.
async fn render<C: BaseComponent>(props: C::Properties) -> Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<C>::with_root_and_props(root.clone(), props).render();
    yew::scheduler::flush().await;
    root
}

fn by_testid(root: &Element, testid: &str) -> Element {
    root.query_selector(&format!("[data-testid=\"{testid}\"]"))
        .unwrap()
        .unwrap_or_else(|| panic!("no {testid}"))
}

fn digest(c: char) -> Digest {
    Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
}

#[wasm_bindgen_test]
async fn status_card_shows_crictl_forms_and_exact_bytes() {
    let image = Image {
        id: digest('c').to_string(),
        repo_tags: vec!["docker.io/library/nginx:latest".into()],
        repo_digests: vec![format!("docker.io/library/nginx@{}", digest('a'))],
        size: 31_800,
        uid: None,
        username: String::new(),
        pinned: false,
    };
    let root = render::<StatusCard>(imagescope_web::components::StatusProps { image }).await;
    let id = by_testid(&root, "image-id");
    assert_eq!(
        id.get_attribute("data-id").unwrap(),
        digest('c').to_string()
    );
    assert!(id.text_content().unwrap().contains("ccccccccccccc"));
    let size = by_testid(&root, "image-size");
    assert_eq!(size.get_attribute("data-bytes").unwrap(), "31800");
    assert!(size.text_content().unwrap().contains("31.8kB"));
    assert!(size.text_content().unwrap().contains("31,800 bytes"));
    assert_eq!(
        by_testid(&root, "repo-tags").text_content().unwrap(),
        "docker.io/library/nginx:latest"
    );
}

fn layer(c: char, size: u64, media_type: &str) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: digest(c),
        size,
        urls: vec![],
        annotations: Default::default(),
        platform: None,
        artifact_type: None,
    }
}

const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[wasm_bindgen_test]
async fn layer_rows_carry_digest_and_bytes() {
    let props = imagescope_web::components::LayerProps {
        layers: vec![layer('1', 100, GZIP_LAYER), layer('2', 4000, GZIP_LAYER)],
        diff_ids: vec![digest('d')],
        onbrowse: None,
    };
    let root = render::<LayerTable>(props).await;
    let rows = root
        .query_selector_all("[data-testid=\"layer-row\"]")
        .unwrap();
    assert_eq!(rows.length(), 2);
    let second: Element = rows.item(1).unwrap().dyn_into().unwrap();
    assert_eq!(
        second.get_attribute("data-digest").unwrap(),
        digest('2').to_string()
    );
    assert_eq!(second.get_attribute("data-bytes").unwrap(), "4000");
    let bar = second.query_selector(".bar-fill").unwrap().unwrap();
    assert_eq!(
        bar.get_attribute("width").unwrap(),
        "100.00",
        "the largest layer fills its bar"
    );
    assert!(
        root.query_selector("[data-testid=\"files-button\"]").unwrap().is_none(),
        "no file browsing offered without a handler"
    );
}

#[wasm_bindgen_test]
async fn browse_buttons_open_tar_layers_and_the_filesystem() {
    let asked = Rc::new(std::cell::RefCell::new(Vec::new()));
    let record = asked.clone();
    let props = imagescope_web::components::LayerProps {
        layers: vec![
            layer('1', 100, GZIP_LAYER),
            layer('2', 10, "application/spdx+json"),
            layer('3', 50, "application/vnd.oci.image.layer.v1.tar+zstd"),
        ],
        diff_ids: vec![],
        onbrowse: Some(Callback::from(move |l| record.borrow_mut().push(l))),
    };
    let root = render::<LayerTable>(props).await;
    let buttons = root.query_selector_all("[data-testid=\"files-button\"]").unwrap();
    assert_eq!(buttons.length(), 2, "the SBOM layer is not a tar");
    assert!(
        root.query_selector("[data-testid=\"filesystem-button\"]").unwrap().is_none(),
        "an image with a non-tar layer has no merged filesystem"
    );
    for i in 0..buttons.length() {
        buttons.item(i).unwrap().dyn_into::<web_sys::HtmlElement>().unwrap().click();
    }
    assert_eq!(*asked.borrow(), vec![Some(0), Some(2)]);

    let all_tar = imagescope_web::components::LayerProps {
        layers: vec![layer('1', 100, GZIP_LAYER)],
        diff_ids: vec![],
        onbrowse: Some(Callback::from(move |l| asked.borrow_mut().push(l))),
    };
    let root = render::<LayerTable>(all_tar).await;
    let whole = root.query_selector("[data-testid=\"filesystem-button\"]").unwrap().expect("filesystem button");
    assert_eq!(whole.text_content().unwrap(), "Filesystem");
}

#[wasm_bindgen_test]
async fn the_preview_normalises_and_reports_errors() {
    let root = render::<ReferencePreview>(imagescope_web::components::PreviewProps {
        input: "busybox".into(),
    })
    .await;
    assert_eq!(
        by_testid(&root, "canonical-ref").text_content().unwrap(),
        "docker.io/library/busybox:latest"
    );
    assert_eq!(
        by_testid(&root, "default-tag").text_content().unwrap(),
        "Using default tag: latest"
    );
    let root = render::<ReferencePreview>(imagescope_web::components::PreviewProps {
        input: "Busybox".into(),
    })
    .await;
    assert!(by_testid(&root, "ref-error")
        .text_content()
        .unwrap()
        .contains("must be lowercase"));
}

#[wasm_bindgen_test]
async fn errors_carry_kind_and_code_and_render_registry_text_as_text() {
    let failure = Failure {
        kind: "registry",
        code: Some("UNAUTHORIZED".into()),
        headline: "The registry wants credentials".into(),
        detail: "<img src=x onerror=alert(1)>".into(),
        cors: None,
    };
    let root = render::<ErrorView>(imagescope_web::components::ErrorProps {
        failure: Rc::new(failure),
    })
    .await;
    let error = by_testid(&root, "error");
    assert_eq!(error.get_attribute("data-kind").unwrap(), "registry");
    assert_eq!(error.get_attribute("data-code").unwrap(), "UNAUTHORIZED");
    assert!(
        root.query_selector("img").unwrap().is_none(),
        "registry text is never parsed as HTML"
    );
}

#[wasm_bindgen_test]
async fn the_cors_diagnosis_names_what_is_missing_and_the_fixes() {
    let diagnosis = CorsDiagnosis {
        url: "http://127.0.0.1:5000/v2/".into(),
        server: "http://127.0.0.1:5000".into(),
        page_origin: "http://127.0.0.1:8080".into(),
        cause: CorsCause::MissingAllowOrigin,
        had_authorization: false,
        token_service: false,
        proxy_available: false,
    };
    let root =
        render::<CorsDiagnosisView>(imagescope_web::components::CorsProps { diagnosis }).await;
    let text = by_testid(&root, "cors-diagnosis").text_content().unwrap();
    assert!(text.contains("Access-Control-Allow-Origin"));
    assert!(text.contains("Access-Control-Allow-Origin: ['http://127.0.0.1:8080']"));
    assert!(text.contains("return 204"));
    assert!(text.contains("imagescope serve"));
}
