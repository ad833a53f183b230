module github.com/gantry-dev/gantry/libs

go 1.26.0
