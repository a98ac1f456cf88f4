// Command image builds the reconciler's container image without a
// container engine: one layer holding the static binary, the CA
// certificates and a nonroot user, on an empty base, written as an image
// archive that docker load, podman load, skopeo and crane accept.
//
// The Dockerfile in deploy/kubernetes builds the same image where a Docker
// engine runs; this builds it anywhere Go runs, CI included, from a binary
// built with CGO_ENABLED=0 (scripts/build-image does both steps). Every
// timestamp is fixed, so the same binary gives the same image digest.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and identity inside the image; deploy/kubernetes/deployment.yaml
// runs it as this user.
const (
	binaryPath = "/usr/local/bin/reconciler"
	caPath     = "/etc/ssl/certs/ca-certificates.crt"
	nonrootID  = 65532
)

// caCandidates are where Linux distributions keep the CA bundle.
var caCandidates = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}

// options say what to build.
type options struct {
	binary  string    // the static reconciler binary
	caCerts string    // CA bundle to copy; "" finds the machine's
	arch    string    // GOARCH the binary was built for
	version string    // image label and tag
	source  string    // repository URL label
	created time.Time // every timestamp in the image
}

func main() {
	var o options
	var out, tag string
	var epoch int64
	flag.StringVar(&o.binary, "binary", "", "The reconciler binary, built with CGO_ENABLED=0 for linux.")
	flag.StringVar(&o.caCerts, "ca-certs", "", "CA bundle to put in the image (default: the machine's).")
	flag.StringVar(&o.arch, "arch", "amd64", "Architecture the binary was built for (GOARCH).")
	flag.StringVar(&o.version, "version", "dev", "Version label of the image.")
	flag.StringVar(&o.source, "source", "https://github.com/horizon/reconciler", "Source repository label.")
	flag.Int64Var(&epoch, "created", 0, "Creation time of the image, in Unix seconds (SOURCE_DATE_EPOCH).")
	flag.StringVar(&out, "out", "reconciler-image.tar", "Image archive to write.")
	flag.StringVar(&tag, "tag", "ghcr.io/horizon/reconciler:dev", "Name and tag recorded in the archive.")
	flag.Parse()
	o.created = time.Unix(epoch, 0).UTC()
	if err := run(o, out, tag); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(o options, out, tag string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	img, err := build(o)
	if err != nil {
		return err
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s %s\n", out, ref, digest)
	return nil
}

// build assembles the image.
func build(o options) (v1.Image, error) {
	if o.binary == "" {
		return nil, errors.New("no -binary given")
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	ca, err := readCA(o.caCerts)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfs(bin, ca, o.created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: o.created}, CreatedBy: "deploy/image: reconciler, CA certificates, nonroot user"}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", o.arch, v1.Time{Time: o.created}
	cf.Config = v1.Config{
		Entrypoint:   []string{binaryPath},
		Cmd:          []string{"run", "-f", "/etc/horizon/horizon.yaml"},
		User:         fmt.Sprintf("%d:%d", nonrootID, nonrootID),
		WorkingDir:   "/home/nonroot",
		Env:          []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + caPath},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "Horizon helpdesk reconciler",
			"org.opencontainers.image.version": o.version,
			"org.opencontainers.image.source":  o.source,
		},
	}
	return mutate.ConfigFile(img, cf)
}

func readCA(path string) ([]byte, error) {
	paths := caCandidates
	if path != "" {
		paths = []string{path}
	}
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil && len(data) > 0 {
			return data, nil
		}
	}
	return nil, fmt.Errorf("no CA bundle found (tried %v); pass -ca-certs", paths)
}

// rootfs is the image's one layer, as a tar archive.
func rootfs(bin, ca []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, owner int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error {
			return file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))
		},
		func() error { return file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file(caPath[1:], 0o644, ca) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir("home/nonroot", 0o700, nonrootID) },
		func() error { return dir("tmp", 0o1777, 0) },
		func() error { return dir("usr", 0o755, 0) },
		func() error { return dir("usr/local", 0o755, 0) },
		func() error { return dir("usr/local/bin", 0o755, 0) },
		func() error { return file(binaryPath[1:], 0o755, bin) },
		tw.Close,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, fmt.Errorf("layer tar: %w", err)
		}
	}
	return buf.Bytes(), nil
}
