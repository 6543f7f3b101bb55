using System.Runtime.CompilerServices;

// Every P/Invoke signature uses only pointers and unmanaged types: no marshalling stubs, zero-copy calls.
[assembly: DisableRuntimeMarshalling]
