#include "cxx_shapes.h"

#include <stdexcept>

namespace {

struct Square : Shape {
  explicit Square(double side) : side(side) {}
  double area() const override { return side * side; }
  double side;
};

struct Triangle : Shape {
  Triangle(double base, double height) : base(base), height(height) {}
  double area() const override { return base * height / 2; }
  double base, height;
};

}  // namespace

std::vector<std::unique_ptr<Shape>> make_shapes(int n) {
  std::vector<std::unique_ptr<Shape>> shapes;
  for (int i = 0; i < n; i++) {
    if (i % 2)
      shapes.push_back(std::make_unique<Square>(i));
    else
      shapes.push_back(std::make_unique<Triangle>(i, 2));
  }
  return shapes;
}

int parse_int(const std::string &s) {
  if (s.empty())
    throw std::invalid_argument("empty");
  return std::stoi(s);
}
