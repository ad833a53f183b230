package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Builtin is the name of the image BuildBusybox makes.
const Builtin = "gantry.local/busybox:latest"

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

// buildTime is every file's mtime and the image's creation time, so that
// the archive is the same byte for byte wherever it is built from the
// same busybox.
var buildTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	imagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	passwd    = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group     = "root:x:0:\nnobody:x:65534:\n"
	// nsswitch makes the order of host lookups explicit: /etc/hosts (the
	// pod's own name, hostAliases) before DNS, as in Debian's images.
	// busybox's static glibc has its files and dns services built in, so
	// getaddrinfo needs no NSS modules in the image; without this file
	// the order would rest on that glibc's built-in default.
	nsswitch = "hosts: files dns\n"
)

// BuildBusybox writes an OCI image archive (an OCI image layout in a tar)
// holding gantry.local/busybox:latest: /bin/busybox from the host, links
// for every applet it lists, /etc/passwd and /etc/group with root and
// nobody, /etc/nsswitch.conf, and /tmp. The image runs "sh" by default.
//
// Names resolve as in any pod: wget, ping and nc go through glibc's
// getaddrinfo (/etc/hosts, then the pod's resolv.conf with its search
// path and ndots), nslookup through busybox's own resolver. Debian builds
// busybox without wget's -T (the option crashes wget): bound a fetch with
// timeout instead.
func BuildBusybox(w io.Writer) error {
	return buildBusybox(w, BusyboxPath)
}

func buildBusybox(w io.Writer, busybox string) error {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("busybox image: %w (install busybox-static)", err)
	}
	if err := checkStatic(busybox); err != nil {
		return err
	}
	applets, err := appletPaths(busybox)
	if err != nil {
		return err
	}
	layer, diffID, err := busyboxLayer(bin, applets)
	if err != nil {
		return err
	}
	return writeOCIArchive(w, Builtin, layer, diffID, ocispec.ImageConfig{
		Env: []string{"PATH=" + imagePath},
		Cmd: []string{"sh"},
	})
}

// checkStatic refuses a dynamically linked busybox: it would not run in
// an image without the host's libraries.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("busybox image: %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox image: %s is dynamically linked (install busybox-static)", path)
		}
	}
	return nil
}

// appletPaths asks busybox where its applets live ("usr/bin/wget", ...).
func appletPaths(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox image: %s --list-full: %w", busybox, err)
	}
	var paths []string
	for _, p := range strings.Fields(string(out)) {
		p = strings.TrimPrefix(p, "/")
		if p == "" || p == "bin/busybox" || strings.Contains(p, "..") {
			continue
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil, errors.New("busybox image: busybox lists no applets")
	}
	return paths, nil
}

// tarEntry is one file of a layer.
type tarEntry struct {
	hdr  tar.Header
	body []byte
}

// busyboxLayer returns the gzipped layer and the digest of its tar.
func busyboxLayer(bin []byte, applets []string) ([]byte, digest.Digest, error) {
	dirs := map[string]int64{"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o755,
		"root": 0o700, "sys": 0o755, "tmp": 0o1777, "usr": 0o755, "var": 0o755}
	var entries []tarEntry
	addDirs := func(p string) {
		for d := p; strings.Contains(d, "/"); {
			d = d[:strings.LastIndex(d, "/")]
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
	}
	entries = append(entries,
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755}, body: bin},
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644}, body: []byte(passwd)},
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "etc/group", Mode: 0o644}, body: []byte(group)},
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "etc/nsswitch.conf", Mode: 0o644}, body: []byte(nsswitch)},
	)
	seen := map[string]bool{}
	for _, p := range applets {
		if seen[p] {
			continue
		}
		seen[p] = true
		addDirs(p)
		entries = append(entries, tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: "/bin/busybox", Mode: 0o777}})
	}
	for d, mode := range dirs {
		entries = append(entries, tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode}})
	}
	// Parents sort before their children ("bin/" < "bin/sh").
	sort.Slice(entries, func(i, j int) bool { return entries[i].hdr.Name < entries[j].hdr.Name })

	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, e := range entries {
		h := e.hdr
		h.ModTime = buildTime
		h.Size = int64(len(e.body))
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	diffID := digest.FromBytes(tarBuf.Bytes())

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), diffID, nil
}

// writeOCIArchive writes a one-layer image named name as an OCI image
// layout in a tar.
func writeOCIArchive(w io.Writer, name string, layer []byte, diffID digest.Digest, cfg ocispec.ImageConfig) error {
	created := buildTime
	config, err := json.Marshal(ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{Architecture: goruntime.GOARCH, OS: "linux"},
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History:  []ocispec.History{{Created: &created, CreatedBy: "gantry: busybox from the host"}},
	})
	if err != nil {
		return err
	}
	configDesc := blobDescriptor(ocispec.MediaTypeImageConfig, config)
	layerDesc := blobDescriptor(ocispec.MediaTypeImageLayerGzip, layer)
	manifest, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	})
	if err != nil {
		return err
	}
	manifestDesc := blobDescriptor(ocispec.MediaTypeImageManifest, manifest)
	manifestDesc.Platform = &ocispec.Platform{Architecture: goruntime.GOARCH, OS: "linux"}
	manifestDesc.Annotations = map[string]string{
		ocispec.AnnotationRefName:  name,
		"io.containerd.image.name": name,
	}
	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{manifestDesc},
	})
	if err != nil {
		return err
	}
	layout, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	files := []struct {
		name string
		body []byte
	}{
		{ocispec.ImageLayoutFile, layout},
		{ocispec.ImageIndexFile, index},
		{blobPath(configDesc), config},
		{blobPath(layerDesc), layer},
		{blobPath(manifestDesc), manifest},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644,
			Size: int64(len(f.body)), ModTime: buildTime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	return tw.Close()
}

func blobDescriptor(mediaType string, b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

func blobPath(d ocispec.Descriptor) string {
	return "blobs/" + d.Digest.Algorithm().String() + "/" + d.Digest.Encoded()
}
