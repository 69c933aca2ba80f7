// (d) C++ split over two units, so each carries the plugin's comdat page
// constructor and the link must keep one.
#pragma once
#include <memory>
#include <string>
#include <vector>

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
};

std::vector<std::unique_ptr<Shape>> make_shapes(int n);
int parse_int(const std::string &s);  // throws std::invalid_argument
