fn main() {
    imagescope_web::run();
}
