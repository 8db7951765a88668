type Listener<T> = (detail: T) => void;

/** A tiny typed event emitter (no DOM dependency, so the listeners' types follow the event name). */
export class TypedEmitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof M>(type: K, detail: M[K]): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) (listener as Listener<M[K]>)(detail);
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
