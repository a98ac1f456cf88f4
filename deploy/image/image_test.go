package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImageSmoke builds the image as scripts/build-image does, reads the
// archive back, unpacks its filesystem and runs the reconciler from it:
// version and validate must work with nothing from the build machine but
// what the image holds.
func TestImageSmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux; its binary runs only here on linux")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "reconciler")
	gobuild := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-smoke", "-o", bin, "../../cmd/reconciler")
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	archive := filepath.Join(dir, "image.tar")
	o := options{binary: bin, arch: runtime.GOARCH, version: "v9.9.9-smoke", source: "https://example.invalid/r", created: time.Unix(0, 0).UTC()}
	if err := run(o, archive, "ghcr.io/horizon/reconciler:v9.9.9-smoke"); err != nil {
		t.Fatal(err)
	}

	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatalf("the archive does not load: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || cf.OS != "linux" || cf.Architecture != runtime.GOARCH ||
		strings.Join(cf.Config.Entrypoint, " ") != binaryPath || cf.Config.Labels["org.opencontainers.image.version"] != "v9.9.9-smoke" {
		t.Errorf("image config: %+v (os %s, arch %s)", cf.Config, cf.OS, cf.Architecture)
	}
	first, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	again, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	if d1, d2 := digest(t, first), digest(t, again); d1 != d2 {
		t.Errorf("the same binary gave two digests: %s and %s", d1, d2)
	}

	root := filepath.Join(dir, "rootfs")
	extract(t, mutate.Extract(img), root)
	exe := filepath.Join(root, binaryPath)
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked: it cannot run on an empty base")
		}
	}
	f.Close()
	if passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); !bytes.Contains(passwd, []byte("nonroot:x:65532:65532:")) {
		t.Errorf("etc/passwd lacks the nonroot user:\n%s", passwd)
	}
	if ca, _ := os.ReadFile(filepath.Join(root, caPath)); !bytes.Contains(ca, []byte("BEGIN CERTIFICATE")) {
		t.Error("the image holds no CA certificates: TLS to the PSA would fail")
	}

	out, err := exec.Command(exe, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "reconciler v9.9.9-smoke") {
		t.Errorf("reconciler version from the image: %v\n%s", err, out)
	}
	example, err := filepath.Abs("../../examples/halopsa.yaml")
	if err != nil {
		t.Fatal(err)
	}
	validate := exec.Command(exe, "validate", example)
	validate.Env = []string{"HALO_CLIENT_SECRET=x", "HORIZON_CALLBACK_SECRET=x"} // nothing else from this machine
	out, err = validate.CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": valid (halopsa") {
		t.Errorf("reconciler validate from the image: %v\n%s", err, out)
	}
}

func digest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// extract writes a flattened image filesystem under root.
func extract(t *testing.T, rc io.ReadCloser, root string) {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, os.FileMode(h.Mode).Perm()); err != nil {
				t.Fatal(err)
			}
		}
	}
}
