// Command render renders a Helm chart's templates the way `helm template` does, with Go's text/template
// and sprig (the engine and function library Helm itself uses), for tests on machines without helm.
//
//	render -chart charts/arbor [-values extra.yaml]... [-name arbor] [-namespace default]
//	       [-revision 1] [-upgrade]
//
// It prints one JSON object: {"manifests": [{"template": "arbor/templates/x.yaml", "content": "..."}],
// "notes": "..."}. Rendering errors (`required`, `fail`, template syntax) go to stderr, exit status 1.
//
// Provided like Helm: .Values (values.yaml deep-merged with each -values file in order; null deletes a
// key), .Release (Name, Namespace, Service, Revision, IsInstall, IsUpgrade), .Chart (Chart.yaml with
// Helm's capitalised field names), .Capabilities (KubeVersion, APIVersions.Has), .Template (Name,
// BasePath), and the functions include, tpl, required, toYaml, fromYaml, toJson, fromJson and lookup
// (always empty, as in `helm template`). Subcharts (dependencies) are not rendered.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type valuesFiles []string

func (v *valuesFiles) String() string     { return strings.Join(*v, ",") }
func (v *valuesFiles) Set(s string) error { *v = append(*v, s); return nil }

type manifest struct {
	Template string `json:"template"`
	Content  string `json:"content"`
}

func main() {
	chartDir := flag.String("chart", "", "chart directory")
	name := flag.String("name", "arbor", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	revision := flag.Int("revision", 1, "release revision")
	upgrade := flag.Bool("upgrade", false, "render as an upgrade instead of an install")
	var files valuesFiles
	flag.Var(&files, "values", "values file merged over values.yaml (repeatable)")
	flag.Parse()
	if *chartDir == "" {
		fail(errors.New("-chart is required"))
	}
	out, err := render(*chartDir, files, *name, *namespace, *revision, *upgrade)
	if err != nil {
		fail(err)
	}
	encoded, err := json.Marshal(out)
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(encoded)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err.Error())
	os.Exit(1)
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// merge lays src over dst as Helm coalesces values: maps merge key by key, anything else replaces,
// and a null in src deletes the key.
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for key, value := range src {
		if value == nil {
			delete(dst, key)
			continue
		}
		srcMap, srcIsMap := value.(map[string]interface{})
		dstMap, dstIsMap := dst[key].(map[string]interface{})
		if srcIsMap && dstIsMap {
			dst[key] = merge(dstMap, srcMap)
		} else {
			dst[key] = value
		}
	}
	return dst
}

// chartMetadata maps Chart.yaml's keys to the field names templates use (.Chart.AppVersion, ...).
func chartMetadata(raw map[string]interface{}) map[string]interface{} {
	special := map[string]string{"apiVersion": "APIVersion", "appVersion": "AppVersion", "kubeVersion": "KubeVersion"}
	out := map[string]interface{}{}
	for key, value := range raw {
		if field, ok := special[key]; ok {
			out[field] = value
		} else {
			out[strings.ToUpper(key[:1])+key[1:]] = value
		}
	}
	return out
}

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	encoder := yaml.NewEncoder(&buf)
	encoder.SetIndent(2)
	if err := encoder.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func fromYAML(s string) map[string]interface{} {
	out := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &out); err != nil {
		out["Error"] = err.Error()
	}
	return out
}

func render(chartDir string, files []string, name, namespace string, revision int, upgrade bool) (map[string]interface{}, error) {
	rawChart, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	chartName, _ := rawChart["name"].(string)
	if chartName == "" {
		return nil, errors.New("Chart.yaml has no name")
	}
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, file := range files {
		extra, err := readYAMLMap(file)
		if err != nil {
			return nil, err
		}
		values = merge(values, extra)
	}

	entries, err := os.ReadDir(filepath.Join(chartDir, "templates"))
	if err != nil {
		return nil, err
	}
	root := template.New("chart")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	funcs["fromJson"] = func(s string) map[string]interface{} {
		out := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			out["Error"] = err.Error()
		}
		return out
	}
	funcs["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil {
			return nil, errors.New(message)
		}
		if s, ok := value.(string); ok && s == "" {
			return nil, errors.New(message)
		}
		return value, nil
	}
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	includeDepth := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if includeDepth[name] > 100 {
			return "", fmt.Errorf("include %q: too deeply nested", name)
		}
		includeDepth[name]++
		defer func() { includeDepth[name]-- }()
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: %w", err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("tpl: %w", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	root.Funcs(funcs).Option("missingkey=zero")

	var names []string
	for _, entry := range entries {
		if entry.IsDir() {
			continue
		}
		file := entry.Name()
		if !strings.HasSuffix(file, ".yaml") && !strings.HasSuffix(file, ".yml") &&
			!strings.HasSuffix(file, ".tpl") && file != "NOTES.txt" {
			continue
		}
		text, err := os.ReadFile(filepath.Join(chartDir, "templates", file))
		if err != nil {
			return nil, err
		}
		templateName := path.Join(chartName, "templates", file)
		if _, err := root.New(templateName).Parse(string(text)); err != nil {
			return nil, err
		}
		names = append(names, templateName)
	}
	sort.Strings(names)

	base := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "Service": "Helm", "Revision": revision,
			"IsInstall": !upgrade, "IsUpgrade": upgrade,
		},
		"Chart": chartMetadata(rawChart),
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30", "GitVersion": "v1.30.0"},
			"APIVersions": apiVersions{},
		},
	}
	var manifests []manifest
	notes := ""
	for _, templateName := range names {
		if strings.HasPrefix(path.Base(templateName), "_") {
			continue
		}
		data := map[string]interface{}{}
		for key, value := range base {
			data[key] = value
		}
		data["Template"] = map[string]interface{}{"Name": templateName, "BasePath": path.Join(chartName, "templates")}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, templateName, data); err != nil {
			return nil, err
		}
		content := strings.ReplaceAll(buf.String(), "<no value>", "")
		if path.Base(templateName) == "NOTES.txt" {
			notes = content
			continue
		}
		manifests = append(manifests, manifest{Template: templateName, Content: content})
	}
	return map[string]interface{}{"manifests": manifests, "notes": notes}, nil
}

// apiVersions answers .Capabilities.APIVersions.Has for the built-in groups of Kubernetes 1.30.
type apiVersions struct{}

func (apiVersions) Has(version string) bool {
	switch strings.Split(version, "/")[0] {
	case "v1", "apps", "batch", "networking.k8s.io", "policy", "autoscaling", "rbac.authorization.k8s.io":
		return true
	}
	return false
}
