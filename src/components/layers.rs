use crate::format::exact_bytes;
use imagescope_core::digest::Digest;
use imagescope_core::manifest::Descriptor;
use imagescope_core::media_type::Compression;
use imagescope_core::status::human_size;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LayerProps {
    pub layers: Vec<Descriptor>,
    /// `rootfs.diff_ids` from the config, in the same order as the layers.
    pub diff_ids: Vec<Digest>,
    /// Opens the files of a layer (its index), or of the merged filesystem with `None`; without
    /// it the table offers no file browsing.
    #[prop_or_default]
    pub onbrowse: Option<Callback<Option<usize>>>,
}

/// The layers with their compressed sizes drawn to scale against the largest.
#[component]
pub fn LayerTable(props: &LayerProps) -> Html {
    let largest = props
        .layers
        .iter()
        .map(|l| l.size)
        .max()
        .unwrap_or(0)
        .max(1);
    let total: u64 = props.layers.iter().map(|l| l.size).sum();
    let tar = |l: &Descriptor| Compression::of_layer(&l.media_type).is_some();
    let browse = props.onbrowse.clone().filter(|_| props.layers.iter().any(tar));
    let browse_button = |layer: Option<usize>, label: String, testid: &'static str| match &browse {
        Some(on) => {
            let on = on.clone();
            html! { <button type="button" data-testid={testid} onclick={move |_| on.emit(layer)}>{ label }</button> }
        }
        None => html! {},
    };
    html! {
        <section class="card" aria-labelledby="layers-title">
            <div class="card-head">
                <h2 id="layers-title">{ format!("Layers ({})", props.layers.len()) }</h2>
                if props.layers.iter().all(tar) {
                    { browse_button(None, "Filesystem".into(), "filesystem-button") }
                }
            </div>
            <p class="muted">{ format!("{} compressed in total ({})", human_size(total), exact_bytes(total)) }</p>
            <div class="table-wrap">
                <table class="layers">
                    <thead>
                        <tr><th scope="col">{ "#" }</th><th scope="col">{ "Digest · diff_id" }</th><th scope="col">{ "Media type" }</th>
                            <th scope="col" class="num">{ "Size" }</th><th scope="col" class="bar-col"><span class="visually-hidden">{ "Relative size" }</span></th>
                            if browse.is_some() { <th scope="col"><span class="visually-hidden">{ "Files" }</span></th> }</tr>
                    </thead>
                    <tbody>
                        { for props.layers.iter().enumerate().map(|(i, layer)| {
                            // Hundredths of a percent in integers: no float formatting in the page.
                            let width = (u128::from(layer.size) * 10_000 / u128::from(largest.max(1))).max(50);
                            let percent = format!("{}.{:02}", width / 100, width % 100);
                            html! {
                                <tr data-testid="layer-row" data-digest={layer.digest.to_string()} data-bytes={layer.size.to_string()}>
                                    <td class="num">{ i + 1 }</td>
                                    <td>
                                        <code class="digest">{ layer.digest.to_string() }</code>
                                        if let Some(diff_id) = props.diff_ids.get(i) {
                                            <code class="digest muted small" title="diff_id: digest of the uncompressed layer">{ format!("diff_id {diff_id}") }</code>
                                        }
                                    </td>
                                    <td><code class="small">{ layer.media_type.clone() }</code></td>
                                    <td class="num" title={exact_bytes(layer.size)}>{ human_size(layer.size) }</td>
                                    <td class="bar-col">
                                        <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img"
                                            aria-label={format!("{}% of the largest layer", (width + 50) / 100)}>
                                            <rect class="bar-track" x="0" y="0" width="100" height="8" rx="2" />
                                            <rect class="bar-fill" x="0" y="0" width={percent} height="8" rx="2" />
                                        </svg>
                                    </td>
                                    if browse.is_some() {
                                        <td class="files-col">
                                            if tar(layer) {
                                                { browse_button(Some(i), format!("Browse files of layer {}", i + 1), "files-button") }
                                            }
                                        </td>
                                    }
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}
