fn main() {
    imagescope_web::worker::start();
}
