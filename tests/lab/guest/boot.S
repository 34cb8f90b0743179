/*
 * Multiboot (v1) entry of the lab guest.  QEMU's -kernel loader (libvirt <os><kernel>) jumps here
 * in 32-bit protected mode with EAX = 0x2BADB002 and EBX = the multiboot information.  We load our
 * own GDT because the loader's one is only guaranteed to be usable until we reload a segment, and
 * the IRQ0 stub below needs known selectors in the IDT.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-align modules, provide the memory map */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text
	.globl _start
_start:
	cli
	movl $stack_top, %esp
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	pushl %ebx
	pushl %eax
	call guest_main
2:	cli
	hlt
	jmp 2b

/* Timer interrupt (IRQ0 remapped to vector 0x20): count the tick, acknowledge the PIC. */
	.globl irq0_stub
irq0_stub:
	pushl %eax
	incl ticks
	movb $0x20, %al
	outb %al, $0x20
	popl %eax
	iret

/* Spurious IRQ7/IRQ15 and any other IRQ we did not unmask: nothing to acknowledge. */
	.globl irq_spurious_stub
irq_spurious_stub:
	iret

/* CPU exceptions are bugs in this program: report and stop instead of triple-faulting. */
	.globl fault_stub
fault_stub:
	cli
	call guest_fault
3:	hlt
	jmp 3b

	.section .rodata
	.align 8
gdt:
	.quad 0x0000000000000000
	.quad 0x00cf9a000000ffff /* 0x08: code, base 0, limit 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff /* 0x10: data, base 0, limit 4 GiB */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.section .bss
	.align 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
