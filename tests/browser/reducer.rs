use imagescope_web::credentials::{CredentialKind, Field};
use imagescope_web::route::Route;
use imagescope_web::state::{Action, Listing, Outcome, ProxyStatus, State, TagList};
use std::rc::Rc;
use wasm_bindgen_test::wasm_bindgen_test;
use yew::Reducible;

fn reduce(state: Rc<State>, actions: Vec<Action>) -> Rc<State> {
    actions.into_iter().fold(state, |s, a| s.reduce(a))
}

fn route(reference: &str, platform: Option<&str>) -> Route {
    Route {
        reference: reference.into(),
        platform: platform.map(String::from),
    }
}

#[wasm_bindgen_test]
fn inspect_starts_a_run_and_sets_the_target() {
    let s = reduce(
        Rc::new(State::default()),
        vec![
            Action::SetInput("busybox".into()),
            Action::Inspect(route(" busybox ", None)),
        ],
    );
    assert_eq!(s.run, 1);
    assert!(s.running());
    assert_eq!(s.target, Some(route("busybox", None)));
    assert_eq!(s.input, "busybox");
}

#[wasm_bindgen_test]
fn submitting_inspects_the_latest_input() {
    let s = reduce(
        Rc::new(State::default()),
        vec![
            Action::SetInput("alp".into()),
            Action::SetInput("alpine:3".into()),
            Action::InspectInput,
        ],
    );
    assert_eq!(s.target, Some(route("alpine:3", None)));
    assert_eq!(s.run, 1);
}

#[wasm_bindgen_test]
fn an_empty_reference_changes_nothing() {
    let start = Rc::new(State::default());
    let s = start.clone().reduce(Action::Inspect(route("  ", None)));
    assert!(
        Rc::ptr_eq(&start, &s),
        "the same Rc, so Yew skips the render"
    );
}

#[wasm_bindgen_test]
fn navigating_to_what_is_shown_does_not_inspect_again() {
    let s = reduce(
        Rc::new(State::default()),
        vec![Action::Inspect(route("alpine", Some("linux/arm64")))],
    );
    let again = s
        .clone()
        .reduce(Action::Navigate(route("alpine", Some("linux/arm64"))));
    assert!(Rc::ptr_eq(&s, &again));
    let other = s.reduce(Action::Navigate(route("alpine", None)));
    assert_eq!(other.run, 2);
}

#[wasm_bindgen_test]
fn choosing_a_platform_reinspects_the_same_reference() {
    let s = reduce(
        Rc::new(State::default()),
        vec![
            Action::Inspect(route("r.example/app:v1", None)),
            Action::ChoosePlatform("linux/arm/v7".into()),
        ],
    );
    assert_eq!(s.run, 2);
    assert_eq!(
        s.target,
        Some(route("r.example/app:v1", Some("linux/arm/v7")))
    );
}

#[wasm_bindgen_test]
fn late_answers_of_an_older_run_are_dropped() {
    let s = reduce(
        Rc::new(State::default()),
        vec![
            Action::Inspect(route("a", None)),
            Action::Inspect(route("b", None)),
        ],
    );
    let late = s.clone().reduce(Action::Finished {
        run: 1,
        outcome: Outcome::Absent {
            canonical: "a".into(),
            detail: String::new(),
        },
    });
    assert!(late.running());
    let current = s.reduce(Action::Finished {
        run: 2,
        outcome: Outcome::Absent {
            canonical: "b".into(),
            detail: String::new(),
        },
    });
    assert!(matches!(current.outcome, Outcome::Absent { .. }));
}

#[wasm_bindgen_test]
fn credentials_fields_and_kind() {
    let s = reduce(
        Rc::new(State::default()),
        vec![
            Action::SetCredentialKind(CredentialKind::Password),
            Action::SetCredentialField(Field::Username, "alice".into()),
            Action::SetCredentialField(Field::Password, "secret".into()),
            Action::SetCredentialField(Field::Auth, "stale".into()),
            Action::SetRemember(true),
        ],
    );
    assert_eq!(s.credentials.username, "alice");
    assert!(s.remember);
    let effective = s.credentials.effective();
    assert_eq!(effective.password, "secret");
    assert_eq!(effective.auth, "", "fields of other kinds never ride along");
}

#[wasm_bindgen_test]
fn tag_pages_accumulate_and_a_new_inspection_retires_them() {
    let s = reduce(
        Rc::new(State::default()),
        vec![Action::Inspect(route("a", None)), Action::LoadTags],
    );
    assert!(matches!(s.tags, Listing::Loading));
    let run = s.tags_run;
    let s = s.reduce(Action::TagsPage {
        run,
        tags: vec!["1".into(), "2".into()],
        next: Some("http://r/v2/a/tags/list?last=2".into()),
    });
    let s = s.reduce(Action::MoreTags);
    assert!(matches!(
        &s.tags,
        Listing::Loaded(TagList {
            loading_more: true,
            ..
        })
    ));
    let run = s.tags_run;
    let s = s.reduce(Action::TagsPage {
        run,
        tags: vec!["3".into()],
        next: None,
    });
    match &s.tags {
        Listing::Loaded(list) => {
            assert_eq!(list.tags, ["1", "2", "3"]);
            assert_eq!(list.next, None);
            assert!(!list.loading_more);
        }
        _ => panic!("tags not loaded"),
    }
    let stale_run = s.tags_run;
    let s = s.reduce(Action::Inspect(route("b", None)));
    let s = s.reduce(Action::TagsPage {
        run: stale_run,
        tags: vec!["old".into()],
        next: None,
    });
    assert!(matches!(s.tags, Listing::Idle));
}

#[wasm_bindgen_test]
fn proxy_detection_and_hosts_needing_it() {
    let s = reduce(
        Rc::new(State::default()),
        vec![
            Action::ProxyDetected(true),
            Action::ProxyNeeded("registry-1.docker.io".into()),
            Action::ProxyNeeded("registry-1.docker.io".into()),
        ],
    );
    assert_eq!(s.proxy, ProxyStatus::Available);
    assert_eq!(s.proxied_hosts, ["registry-1.docker.io"]);
}
