package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// readTar returns the regular files and the headers of a tar stream.
func readTar(t *testing.T, r io.Reader) (map[string][]byte, map[string]*tar.Header) {
	t.Helper()
	files, headers := map[string][]byte{}, map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, headers
		}
		if err != nil {
			t.Fatal(err)
		}
		headers[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b
		}
	}
}

func blob(t *testing.T, files map[string][]byte, d ocispec.Descriptor, v any) []byte {
	t.Helper()
	b, ok := files[blobPath(d)]
	if !ok {
		t.Fatalf("archive lacks blob %s", d.Digest)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestBuildBusybox(t *testing.T) {
	var a, b bytes.Buffer
	if err := BuildBusybox(&a); err != nil {
		t.Fatal(err)
	}
	if err := BuildBusybox(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two builds differ: the archive is not deterministic")
	}

	files, _ := readTar(t, bytes.NewReader(a.Bytes()))
	if _, ok := files[ocispec.ImageLayoutFile]; !ok {
		t.Fatal("no oci-layout file")
	}
	var index ocispec.Index
	if err := json.Unmarshal(files[ocispec.ImageIndexFile], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 {
		t.Fatalf("index has %d manifests", len(index.Manifests))
	}
	md := index.Manifests[0]
	for _, k := range []string{ocispec.AnnotationRefName, "io.containerd.image.name"} {
		if md.Annotations[k] != Builtin {
			t.Errorf("annotation %s = %q, want %q", k, md.Annotations[k], Builtin)
		}
	}
	var manifest ocispec.Manifest
	blob(t, files, md, &manifest)
	var config ocispec.Image
	blob(t, files, manifest.Config, &config)
	if len(config.Config.Cmd) != 1 || config.Config.Cmd[0] != "sh" {
		t.Errorf("Cmd = %v", config.Config.Cmd)
	}
	if len(config.Config.Env) != 1 || config.Config.Env[0] != "PATH="+imagePath {
		t.Errorf("Env = %v", config.Config.Env)
	}
	if len(manifest.Layers) != 1 || len(config.RootFS.DiffIDs) != 1 {
		t.Fatalf("want one layer: %v, %v", manifest.Layers, config.RootFS.DiffIDs)
	}

	zr, err := gzip.NewReader(bytes.NewReader(blob(t, files, manifest.Layers[0], nil)))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := digest.FromBytes(layer); got != config.RootFS.DiffIDs[0] {
		t.Fatalf("layer diff ID %s, config says %s", got, config.RootFS.DiffIDs[0])
	}
	lfiles, lheaders := readTar(t, bytes.NewReader(layer))
	if len(lfiles["bin/busybox"]) < 100000 {
		t.Errorf("bin/busybox has %d bytes", len(lfiles["bin/busybox"]))
	}
	if string(lfiles["etc/passwd"]) != passwd || string(lfiles["etc/group"]) != group {
		t.Errorf("passwd/group: %q %q", lfiles["etc/passwd"], lfiles["etc/group"])
	}
	if string(lfiles["etc/nsswitch.conf"]) != nsswitch {
		t.Errorf("nsswitch.conf: %q", lfiles["etc/nsswitch.conf"])
	}
	if h := lheaders["tmp/"]; h == nil || h.Mode&0o1777 != 0o1777 {
		t.Errorf("tmp/ missing or not 1777: %+v", h)
	}
	for _, applet := range []string{"sh", "httpd", "wget", "nc", "sleep", "cat", "ls", "echo", "timeout"} {
		found := false
		for _, dir := range []string{"bin/", "sbin/", "usr/bin/", "usr/sbin/"} {
			if h := lheaders[dir+applet]; h != nil && h.Typeflag == tar.TypeSymlink && h.Linkname == "/bin/busybox" {
				found = true
			}
		}
		if !found {
			t.Errorf("no link for applet %s", applet)
		}
	}
}
