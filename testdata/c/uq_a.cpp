/* STB_GNU_UNIQUE: an inline function's static and a template's static member, which g++ binds
 * STB_GNU_UNIQUE; uq_a.so and uq_b.so define the same ones (as two libraries including one
 * header do). glibc keeps one of each per process, the first bound, even for RTLD_LOCAL. */
inline int &uq_counter() {
    static int count = 0;
    return count;
}
template <typename T> struct UqBox {
    static int value;
};
template <typename T> int UqBox<T>::value = 0;
extern "C" int uq_a_bump() { return ++uq_counter(); }
extern "C" int uq_a_bump_member() { return ++UqBox<int>::value; }
