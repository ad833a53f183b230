module github.com/gantry-dev/gantry/services/cli

go 1.26.6

replace (
	github.com/gantry-dev/gantry/libs => ../../libs
	github.com/gantry-dev/gantry/proto => ../../proto
)

require (
	github.com/miekg/dns v1.1.73
	go.yaml.in/yaml/v3 v3.0.4
)

require (
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
