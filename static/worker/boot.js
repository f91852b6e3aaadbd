// Starts the store worker. It lives in its own directory so the page's start-up payload never
// includes it: the page spawns it only when someone pulls, opens the stored images or pastes
// a config.json or Secret.
importScripts('imagescope-worker.js');
wasm_bindgen({ module_or_path: 'imagescope-worker_bg.wasm' });
