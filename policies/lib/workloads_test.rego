package lib.farpoint.workloads_test
import data.lib.farpoint.workloads as w
test_images if {
  w.image_registry("nginx") == "docker.io"
  w.image_registry("library/nginx:1") == "docker.io"
  w.image_registry("harbor.example.com/shop/web:1.2") == "harbor.example.com"
  w.image_registry("localhost:5000/web") == "localhost:5000"
  w.image_registry("localhost/web") == "localhost"
  w.image_tag("harbor.example.com:443/shop/web:1.2@sha256:abc") == "1.2"
  not w.image_tag("harbor.example.com:443/shop/web@sha256:abc")
  not w.image_tag("nginx")
  w.image_digest("nginx@sha256:abc") == "sha256:abc"
  w.image_repository("nginx:1") == "docker.io/nginx"
  w.image_repository("harbor.example.com:443/shop/web:1.2@sha256:abc") == "harbor.example.com:443/shop/web"
  w.object_name({"metadata": {"generateName": "web-"}}) == "web-"
  w.object_name({"metadata": {}}) == "<unnamed>"
}
test_display_name if { w.display_name({"kind": "Pod", "metadata": {"name": "web"}}) == "Pod <web>" }
