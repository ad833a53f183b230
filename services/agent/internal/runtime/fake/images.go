package fake

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// DefaultPullError fails references containing "missing" as not found,
// and references containing "private" when auth holds no credential for
// their registry, with containerd's messages.
func DefaultPullError(ref string, auth []runtime.RegistryAuth) error {
	switch {
	case strings.Contains(ref, "missing"):
		return fmt.Errorf("failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", ref, ref, ref)
	case strings.Contains(ref, "private") && !hasAuthFor(auth, registryOf(ref)):
		return fmt.Errorf("failed to pull and unpack image %q: failed to resolve reference %q: "+
			"pull access denied, repository does not exist or may require authorization: "+
			"server message: insufficient_scope: authorization failed", ref, ref)
	}
	return nil
}

func hasAuthFor(auth []runtime.RegistryAuth, registry string) bool {
	for _, a := range auth {
		if a.Server == registry && (a.Password != "" || a.IdentityToken != "") {
			return true
		}
	}
	return false
}

// registryOf is the registry host of a reference ("docker.io" when it
// names none).
func registryOf(ref string) string {
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		return reference.Domain(named)
	}
	return "docker.io"
}

// EnsureImage returns ref as present, unless Config.PullError fails it.
// With policy Never an image that could not be pulled is absent.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, policy string, auth []runtime.RegistryAuth) (runtime.Image, error) {
	if err := ctx.Err(); err != nil {
		return runtime.Image{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkOpen(); err != nil {
		return runtime.Image{}, err
	}
	if img, ok := r.images[ref]; ok && policy != "Always" {
		return img, nil
	}
	if err := r.cfg.PullError(ref, auth); err != nil {
		if policy == "Never" {
			return runtime.Image{}, fmt.Errorf("image %q: %w (pull policy Never)", ref, runtime.ErrNotFound)
		}
		return runtime.Image{}, err
	}
	img := imageFor(ref)
	r.images[ref] = img
	return img, nil
}

// imageFor makes up an image for ref: its ID and size derive from the
// name, so the same name is the same image on every node.
func imageFor(ref string) runtime.Image {
	sum := sha256.Sum256([]byte(ref))
	return runtime.Image{
		Name: ref,
		ID:   fmt.Sprintf("sha256:%x", sum),
		Size: 1<<20 + int64(binary.BigEndian.Uint32(sum[:4])%(100<<20)),
		Cmd:  []string{"sh"},
		Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	}
}

// ListImages lists the images pulled or imported so far, by name.
func (r *Runtime) ListImages(ctx context.Context) ([]runtime.Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runtime.Image, 0, len(r.images))
	for _, img := range r.images {
		out = append(out, img)
	}
	slices.SortFunc(out, func(a, b runtime.Image) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ImportImage reads the image names of an OCI archive (index.json
// annotations) or a docker archive (manifest.json RepoTags) and makes
// them present; the layers are not looked at.
func (r *Runtime) ImportImage(ctx context.Context, archive io.Reader) ([]string, error) {
	names, err := archiveNames(archive)
	if err != nil {
		return nil, fmt.Errorf("import image: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkOpen(); err != nil {
		return nil, err
	}
	for _, n := range names {
		r.images[n] = imageFor(n)
	}
	return names, nil
}

// archiveNames lists the normalised image names an image archive holds.
func archiveNames(archive io.Reader) ([]string, error) {
	var raw []string
	tr := tar.NewReader(archive)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not an image archive: %w", err)
		}
		switch path.Clean(h.Name) {
		case "index.json":
			var idx struct {
				Manifests []struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"manifests"`
			}
			if err := json.NewDecoder(tr).Decode(&idx); err != nil {
				return nil, fmt.Errorf("index.json: %w", err)
			}
			for _, m := range idx.Manifests {
				if n := m.Annotations["io.containerd.image.name"]; n != "" {
					raw = append(raw, n)
				} else if n := m.Annotations["org.opencontainers.image.ref.name"]; strings.ContainsAny(n, "/:") {
					raw = append(raw, n)
				}
			}
		case "manifest.json":
			var manifests []struct{ RepoTags []string }
			if err := json.NewDecoder(tr).Decode(&manifests); err != nil {
				return nil, fmt.Errorf("manifest.json: %w", err)
			}
			for _, m := range manifests {
				raw = append(raw, m.RepoTags...)
			}
		}
	}
	var names []string
	for _, n := range raw {
		named, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			return nil, fmt.Errorf("image name %q: %w", n, err)
		}
		if name := reference.TagNameOnly(named).String(); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("the archive names no image")
	}
	return names, nil
}
