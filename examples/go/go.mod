module example.com/ponydemo

go 1.22
