/* The offline-relocation oracle: glibc's ld.so relocates a fixture, and this prints what it did,
 * for a Rust test to compare with dynplug's result at the same base (test-only code: it is the
 * reference, so it may use dlopen).
 *
 *     oracle_harness FIXTURE.so
 *
 * dlopen()s FIXTURE with RTLD_NOW | RTLD_LOCAL and prints, one record per line:
 *     oracle 1
 *     machine E_MACHINE
 *     base L_ADDR                               (hex; dlinfo RTLD_DI_LINKMAP)
 *     tls MODID BLOCK_FROM_TP                   (only with PT_TLS; block - thread pointer, signed,
 *                                                this thread's block, which a dlsym of one of its
 *                                                variables brings up to date; "-" when there is
 *                                                none yet. Meaningful as a static TLS offset only
 *                                                for a module glibc put in static TLS)
 *     import NAME ADDR                          (each undefined dynamic symbol glibc found:
 *                                                global scope first, then the object's own)
 *     tlsimport NAME MODID OFFSET BLOCK_FROM_TP (each undefined thread-local symbol: its module's
 *                                                TLS id, its offset in the block, the block -
 *                                                thread pointer; from dl_iterate_phdr)
 *     ifunc RESOLVER RESULT                     (each IFUNC of the fixture a relocation bound:
 *                                                IRELATIVE, or a symbol of its own of type
 *                                                STT_GNU_IFUNC; run-time addresses)
 *     reloc OFFSET TYPE SYMNAME ADDEND WORD     (each DT_RELA/DT_JMPREL entry and the 8-byte
 *                                                word at its place after relocation; SYMNAME
 *                                                "-" without a symbol)
 *     segment VADDR MEMSZ FLAGS RELRO           (each writable PT_LOAD and PT_GNU_RELRO, then
 *     data HEX...                                its bytes after relocation, 32 per line)
 *     end
 * Numbers are hex without 0x except ADDEND and BLOCK_FROM_TP (signed decimal). Symbols and
 * relocations are read from the file; values from memory. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char *file;
static size_t file_len;
static const Elf64_Ehdr *eh;
static const Elf64_Phdr *ph;

static void die(const char *what) {
    fprintf(stderr, "oracle_harness: %s\n", what);
    exit(2);
}

/* The file bytes at link-time address VADDR (through the PT_LOADs). */
static const void *at_vaddr(uint64_t vaddr, uint64_t len) {
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_LOAD && vaddr >= p->p_vaddr && vaddr + len <= p->p_vaddr + p->p_filesz
            && p->p_offset + (vaddr - p->p_vaddr) + len <= file_len)
            return file + p->p_offset + (vaddr - p->p_vaddr);
    }
    die("address outside the file's segments");
    return NULL;
}

static uint64_t dyn_val(const Elf64_Dyn *d, int64_t tag) {
    for (; d->d_tag != DT_NULL; d++)
        if (d->d_tag == tag)
            return d->d_un.d_val;
    return 0;
}

/* The module whose TLS block (for this thread) holds ADDR, for tls_import. */
struct tls_owner {
    uintptr_t addr;
    size_t modid;
    uintptr_t block;
};

static int find_tls_owner(struct dl_phdr_info *info, size_t size, void *data) {
    struct tls_owner *o = data;
    (void)size;
    if (!info->dlpi_tls_modid || !info->dlpi_tls_data)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t block = (uintptr_t)info->dlpi_tls_data;
        if (p->p_type == PT_TLS && o->addr >= block && o->addr < block + p->p_memsz) {
            o->modid = info->dlpi_tls_modid;
            o->block = block;
            return 1;
        }
    }
    return 0;
}

/* "tlsimport" for the thread-local import NAME at this thread's address ADDR. */
static void print_tls_import(const char *name, void *addr) {
    struct tls_owner o = {(uintptr_t)addr, 0, 0};
    if (!dl_iterate_phdr(find_tls_owner, &o))
        die("a thread-local import in no module's TLS block");
    long long from_tp = (long long)(o.block - (uintptr_t)__builtin_thread_pointer());
    printf("tlsimport %s %zx %llx %lld\n", name, o.modid,
           (unsigned long long)(o.addr - o.block), from_tp);
}

/* R_<machine>_IRELATIVE. */
static uint32_t irelative_type(void) {
    switch (eh->e_machine) {
    case EM_X86_64:
        return 37;
    case EM_AARCH64:
        return 1032;
    case EM_RISCV:
        return 58;
    }
    die("a machine without a known IRELATIVE number");
    return 0;
}

/* "ifunc" for each relocation in R bound to an IFUNC of the fixture: the resolver's run-time
 * address and the word glibc stored (less the addend: S + A). */
static void print_ifuncs(const Elf64_Rela *r, uint64_t size, const Elf64_Sym *syms,
                         uintptr_t base) {
    for (uint64_t i = 0; i < size / sizeof *r; i++) {
        uint32_t sym = ELF64_R_SYM(r[i].r_info);
        uint64_t word, resolver;
        if (sym == 0 && ELF64_R_TYPE(r[i].r_info) == irelative_type())
            resolver = base + (uint64_t)r[i].r_addend;
        else if (sym != 0 && ELF64_ST_TYPE(syms[sym].st_info) == STT_GNU_IFUNC
                 && syms[sym].st_shndx != SHN_UNDEF)
            resolver = base + syms[sym].st_value;
        else
            continue;
        memcpy(&word, (const void *)(base + r[i].r_offset), sizeof word);
        if (sym != 0)
            word -= (uint64_t)r[i].r_addend;
        printf("ifunc %llx %llx\n", (unsigned long long)resolver, (unsigned long long)word);
    }
}

/* "tls" for the fixture's own block (it has PT_TLS): a dlsym of one of its exported variables
 * first, which makes glibc bring this thread's DTV up to date after the dlopen (dlinfo alone
 * answers NULL for a module the thread's DTV does not know yet). */
static void print_own_tls(void *h, const Elf64_Sym *syms, const char *strs, uint64_t nsyms) {
    for (uint64_t i = 1; i < nsyms; i++)
        if (ELF64_ST_TYPE(syms[i].st_info) == STT_TLS && syms[i].st_shndx != SHN_UNDEF
            && ELF64_ST_BIND(syms[i].st_info) != STB_LOCAL && strs[syms[i].st_name]
            && dlsym(h, strs + syms[i].st_name))
            break;
    size_t modid = 0;
    void *block = NULL;
    if (dlinfo(h, RTLD_DI_TLS_MODID, &modid) != 0 || dlinfo(h, RTLD_DI_TLS_DATA, &block) != 0)
        die("dlinfo TLS");
    if (block)
        printf("tls %zx %lld\n", modid,
               (long long)((uintptr_t)block - (uintptr_t)__builtin_thread_pointer()));
    else
        printf("tls %zx -\n", modid);
}

static void *lookup(void *handle, const char *name) {
    void *a = dlsym(RTLD_DEFAULT, name);
    return a ? a : dlsym(handle, name);
}

static void print_relocs(const Elf64_Rela *r, uint64_t size, const Elf64_Sym *syms,
                         const char *strs, uintptr_t base) {
    for (uint64_t i = 0; i < size / sizeof *r; i++) {
        uint32_t sym = ELF64_R_SYM(r[i].r_info);
        uint64_t word;
        memcpy(&word, (const void *)(base + r[i].r_offset), sizeof word);
        printf("reloc %llx %u %s %lld %llx\n", (unsigned long long)r[i].r_offset,
               (unsigned)ELF64_R_TYPE(r[i].r_info), sym ? strs + syms[sym].st_name : "-",
               (long long)r[i].r_addend, (unsigned long long)word);
    }
}

static void print_segment(uintptr_t base, uint64_t vaddr, uint64_t memsz, uint32_t flags,
                          int relro) {
    printf("segment %llx %llx %x %d\n", (unsigned long long)vaddr, (unsigned long long)memsz,
           flags, relro);
    const unsigned char *m = (const unsigned char *)(base + vaddr);
    for (uint64_t i = 0; i < memsz; i += 32) {
        printf("data ");
        for (uint64_t j = i; j < memsz && j < i + 32; j++)
            printf("%02x", m[j]);
        printf("\n");
    }
}

int main(int argc, char **argv) {
    if (argc != 2)
        die("usage: oracle_harness FIXTURE.so");
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        die("cannot open the fixture");
    file_len = (size_t)st.st_size;
    file = mmap(NULL, file_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (file == MAP_FAILED || file_len < sizeof(Elf64_Ehdr))
        die("cannot map the fixture");
    eh = (const Elf64_Ehdr *)file;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64
        || eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > file_len)
        die("not a 64-bit ELF file");
    ph = (const Elf64_Phdr *)(file + eh->e_phoff);

    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "oracle_harness: dlopen: %s\n", dlerror());
        return 2;
    }
    struct link_map *lm;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0)
        die("dlinfo RTLD_DI_LINKMAP");
    uintptr_t base = lm->l_addr;
    printf("oracle 1\nmachine %u\nbase %llx\n", eh->e_machine, (unsigned long long)base);

    const Elf64_Dyn *dyn = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = at_vaddr(ph[i].p_vaddr, ph[i].p_filesz);
    }
    if (!dyn)
        die("no PT_DYNAMIC");
    const Elf64_Sym *syms = at_vaddr(dyn_val(dyn, DT_SYMTAB), sizeof(Elf64_Sym));
    const char *strs = at_vaddr(dyn_val(dyn, DT_STRTAB), dyn_val(dyn, DT_STRSZ));
    /* The symbol count: the symbol table ends where the string table begins (as ld lays them
     * out); enough for fixtures, which this harness is for. */
    uint64_t nsyms = (dyn_val(dyn, DT_STRTAB) - dyn_val(dyn, DT_SYMTAB)) / sizeof(Elf64_Sym);
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_TLS)
            print_own_tls(h, syms, strs, nsyms);
    for (uint64_t i = 1; i < nsyms; i++) {
        const char *name = strs + syms[i].st_name;
        if (syms[i].st_shndx != SHN_UNDEF || !*name)
            continue;
        void *a = lookup(h, name);
        if (a && ELF64_ST_TYPE(syms[i].st_info) == STT_TLS)
            print_tls_import(name, a);
        else if (a)
            printf("import %s %llx\n", name, (unsigned long long)(uintptr_t)a);
    }
    uint64_t relasz = dyn_val(dyn, DT_RELASZ), pltsz = dyn_val(dyn, DT_PLTRELSZ);
    uint64_t rela = dyn_val(dyn, DT_RELA), jmprel = dyn_val(dyn, DT_JMPREL);
    if (relasz)
        print_relocs(at_vaddr(rela, relasz), relasz, syms, strs, base);
    /* riscv's ld counts .rela.plt in DT_RELASZ too: print each entry once. */
    if (pltsz && jmprel >= rela && jmprel + pltsz <= rela + relasz)
        pltsz = 0;
    if (pltsz)
        print_relocs(at_vaddr(dyn_val(dyn, DT_JMPREL), pltsz), pltsz, syms, strs, base);
    if (relasz)
        print_ifuncs(at_vaddr(rela, relasz), relasz, syms, base);
    if (pltsz)
        print_ifuncs(at_vaddr(jmprel, pltsz), pltsz, syms, base);
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_LOAD && (p->p_flags & PF_W))
            print_segment(base, p->p_vaddr, p->p_memsz, p->p_flags, 0);
        if (p->p_type == PT_GNU_RELRO)
            print_segment(base, p->p_vaddr, p->p_memsz, p->p_flags, 1);
    }
    printf("end\n");
    return 0;
}
