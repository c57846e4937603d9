module example.org/shinny-go-example

go 1.19
