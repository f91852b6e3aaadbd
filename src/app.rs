//! The root component: owns the state, runs the effects, lays out the page.

use crate::components::{ActivityLog, CredentialsPanel, Header, PullPanel, ReferenceForm, Results, StorePanel};
use crate::hooks::{
    initial_state, use_hash_route, use_inspection, use_listings, use_proxy_detection,
    use_session_credentials, use_theme, StateHandle,
};
use yew::prelude::*;

#[component]
pub fn App() -> Html {
    let state = use_reducer(initial_state);
    use_theme(&state);
    use_proxy_detection(&state);
    use_session_credentials(&state);
    use_hash_route(&state);
    use_inspection(&state);
    use_listings(&state);
    let (run, busy) = (
        state.run.to_string(),
        if state.running() { "true" } else { "false" },
    );
    html! {
        <ContextProvider<StateHandle> context={state}>
            <Header />
            <main id="main" class="layout" data-run={run} data-busy={busy}>
                <div class="inputs">
                    <ReferenceForm />
                    <CredentialsPanel />
                </div>
                <Results />
                <PullPanel />
                <StorePanel />
                <ActivityLog />
            </main>
            <footer class="footer muted small">
                { "imagescope runs entirely in this page: credentials go only to the registry (and its token service), never anywhere else." }
            </footer>
        </ContextProvider<StateHandle>>
    }
}
